package conformance

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"

	jstp "github.com/jstp-go/jstp/core"
)

// readOnly is a 64 KiB string constant: the compiler places it in
// read-only memory, so a transport that writes into a part made of it
// crashes the test binary ("unexpected fault address"), even if it would
// undo the write afterwards, as masking in place does.
const readOnly = c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k + c4k

const (
	c16  = "0123456789abcdef"
	c256 = c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16 + c16
	c4k  = c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256 + c256
)

// SendParts, on a transport that is a jstp.PartsSender, writes the
// concatenation of the parts as one message; never writes into a part (the
// engine passes views of Go strings, here a constant in read-only memory);
// and keeps no part once it returns: each call's own part is overwritten
// right after, as the engine would reuse a buffer, and the server must
// have read the original. An empty part is among them. A transport that is
// not a PartsSender skips this subtest.
func testTransportSendParts(e *env) {
	const n = 8
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	ps, ok := rc.tr.(jstp.PartsSender)
	if !ok {
		e.t.Skipf("%T is not a jstp.PartsSender", rc.tr)
	}
	rc.handshake(appName)
	own := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 100<<10) }
	for i := 1; i <= n; i++ {
		mine := own(i)
		parts := [][]byte{
			[]byte(fmt.Sprintf("{call:[%d,'iface'],echo:['", i)),
			unsafe.Slice(unsafe.StringData(readOnly), len(readOnly)),
			nil,
			mine,
			[]byte("-"),
			[]byte("']}"),
		}
		before := make([][]byte, len(parts))
		for k, p := range parts {
			before[k] = bytes.Clone(p)
		}
		if err := ps.SendParts(parts); err != nil {
			e.fatalf("SendParts of a call in %d parts: %v", len(parts), err)
		}
		for k, p := range parts {
			if !bytes.Equal(p, before[k]) {
				e.t.Fatalf("SendParts wrote into part %d of its message", k)
			}
		}
		for j := range mine {
			mine[j] = 'z'
		}
	}
	// Calls run concurrently, so their answers may come in any order.
	for range n {
		got := rc.next("the callbacks of the calls sent in parts")
		var i int
		if _, err := fmt.Sscanf(got, "{callback:[%d]", &i); err != nil || i < 1 || i > n {
			e.fatalf("not the callback of a call sent in parts: %.60s", got)
		}
		if want := fmt.Sprintf("{callback:[%d],ok:['%s%s-']}", i, readOnly, own(i)); got != want {
			e.t.Fatalf("the answer to call %d (%d bytes) is not the echo of what was sent (%d bytes): the parts were not written as one message, or were read after SendParts returned", i, len(got), len(want))
		}
	}
}

// Large calls to a method registered with jstp.BorrowArgs, whose arguments
// may be parsed where the transport read them (jstp.MessageTaker): each
// call holds its argument until the next has started, so the transport
// reads on while the argument is in use, and each answer must still be the
// argument sent. A transport that reuses the memory of a message it let
// the engine take, before release, fails here.
func testTransportLentArguments(e *env) {
	const n = 8
	fx := e.newFixture()
	// Before the server's cleanup, which waits for its calls: a call whose
	// successor never came (a broken transport) must not wait for good.
	e.t.Cleanup(fx.stopLent)
	e.onAbort(fx.stopLent)
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	arg := func(i int) string { return strings.Repeat(string(rune('a'+i)), 100<<10+i) }
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("{call:[%d,'iface'],lentEcho:[%d,%v,'%s']}", i, i, i == n, arg(i))
		rc.send(msg)
	}
	for range n {
		got := rc.next("the callbacks of the lentEcho calls")
		var i int
		if _, err := fmt.Sscanf(got, "{callback:[%d]", &i); err != nil || i < 1 || i > n {
			e.fatalf("not the callback of a lentEcho call: %.60s", got)
		}
		if want := fmt.Sprintf("{callback:[%d],ok:['%s']}", i, arg(i)); got != want {
			e.t.Fatalf("the answer to call %d (%.40s...) is not its argument: the memory of the call was reused while the method still used it", i, got)
		}
	}
}
