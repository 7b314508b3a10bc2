package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// The suite must be able to fail. TestSuiteCatchesFaults runs selected
// subtests in a child process against deliberately broken factories and
// checks that each fault is reported where it should be.

const faultEnv = "CONFORMANCE_FAULT"

// TestFaultyFactory is the child: it runs the suite against the factory
// named by CONFORMANCE_FAULT. It does nothing in a normal run.
func TestFaultyFactory(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("only run as a child of TestSuiteCatchesFaults")
	}
	f := conformance.PipeFactory()
	opts := conformance.Options{}
	switch fault {
	case "swap":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &swapTransport{Transport: tr} })
		brk := f.Break
		f.Break = func(tr jstp.Transport) { brk(tr.(*swapTransport).Transport) }
	case "leak":
		dial := f.Dial
		f.Dial = func(ctx context.Context, addr string) (jstp.Transport, error) {
			go func() { select {} }() // a goroutine that never ends
			return dial(ctx, addr)
		}
	case "slowclose":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &slowCloseTransport{Transport: tr} })
		opts.Timeout = 300 * time.Millisecond
	case "late":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &lateTransport{Transport: tr} })
	case "lateserver":
		wrapServed(&f, func(tr jstp.Transport) jstp.Transport { return &lateTransport{Transport: tr} })
	case "takereuse":
		wrapServed(&f, func(tr jstp.Transport) jstp.Transport { return &reuseTransport{Transport: tr} })
	case "noendbatch":
		wrapServed(&f, func(tr jstp.Transport) jstp.Transport { return &noEndBatchTransport{Transport: tr} })
	case "dialnoendbatch":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &noEndBatchTransport{Transport: tr} })
	case "keep":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &keepTransport{Transport: tr} })
	case "partswrite":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &partsWriteTransport{Transport: tr} })
	case "partskeep":
		f.Dial = wrapDial(f.Dial, func(tr jstp.Transport) jstp.Transport { return &partsKeepTransport{Transport: tr} })
	case "nobreak":
		f.Break = func(jstp.Transport) {} // "breaks" nothing
	case "skip":
		opts.Skip = map[string]string{"Ping/Wire": "declared by the meta test", "No/Such": "stale"}
	}
	conformance.RunWith(t, f, opts)
}

// wrapServed makes f the pipe factory, except that the server's end of
// each pipe is wrapped by wrap.
func wrapServed(f *conformance.Factory, wrap func(jstp.Transport) jstp.Transport) {
	var servers sync.Map // addr -> *jstp.Server
	var next atomic.Int64
	f.Listen = func(t testing.TB, srv *jstp.Server) string {
		addr := fmt.Sprintf("wrapped://%d", next.Add(1))
		servers.Store(addr, srv)
		t.Cleanup(func() { servers.Delete(addr) })
		return addr
	}
	f.Dial = func(ctx context.Context, addr string) (jstp.Transport, error) {
		srv, ok := servers.Load(addr)
		if !ok {
			return nil, fmt.Errorf("nothing listens on %s", addr)
		}
		client, server := jstp.Pipe()
		srv.(*jstp.Server).Serve(wrap(server))
		return client, nil
	}
}

// noEndBatchTransport says that it reads in batches (jstp.ReadBatcher),
// but the transport it wraps never gets to call EndBatch: it is given a
// Receiver with Message and Closed only.
type noEndBatchTransport struct{ jstp.Transport }

func (*noEndBatchTransport) ReadsBatches() bool { return true }

func (nt *noEndBatchTransport) Start(r jstp.Receiver) {
	nt.Transport.Start(struct{ jstp.Receiver }{r})
}

// reuseTransport delivers every message from one buffer of its own, which
// it lets the engine take (MessageTaker) but reuses for the next message
// all the same.
type reuseTransport struct {
	jstp.Transport
	buf []byte
}

func (rt *reuseTransport) Start(r jstp.Receiver) { rt.Transport.Start(&reuseReceiver{rt, r}) }

func (rt *reuseTransport) TakeMessage() (func(), bool) {
	return func() {}, true // the fault under test: taken, yet reused
}

type reuseReceiver struct {
	rt *reuseTransport
	jstp.Receiver
}

func (rr *reuseReceiver) Message(data []byte) {
	rr.rt.buf = append(rr.rt.buf[:0], data...)
	rr.Receiver.Message(rr.rt.buf)
}

// wrapDial returns dial with every transport it opens wrapped by wrap.
func wrapDial(dial func(context.Context, string) (jstp.Transport, error), wrap func(jstp.Transport) jstp.Transport) func(context.Context, string) (jstp.Transport, error) {
	return func(ctx context.Context, addr string) (jstp.Transport, error) {
		tr, err := dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		return wrap(tr), nil
	}
}

// swapTransport delivers incoming messages after the first in swapped
// pairs.
type swapTransport struct{ jstp.Transport }

func (s *swapTransport) Start(r jstp.Receiver) { s.Transport.Start(&swapReceiver{r: r}) }

type swapReceiver struct {
	r    jstp.Receiver
	n    int
	held []byte
}

func (s *swapReceiver) Message(data []byte) {
	if s.n++; s.n == 1 {
		s.r.Message(data)
		return
	}
	if s.held == nil {
		s.held = append([]byte(nil), data...)
		return
	}
	s.r.Message(data)
	s.r.Message(s.held)
	s.held = nil
}

func (s *swapReceiver) Closed(err error) { s.r.Closed(err) }

// lateTransport delivers one more message after reporting Closed.
type lateTransport struct{ jstp.Transport }

func (l *lateTransport) Start(r jstp.Receiver) { l.Transport.Start(&lateReceiver{r}) }

type lateReceiver struct{ jstp.Receiver }

func (l *lateReceiver) Closed(err error) {
	l.Receiver.Closed(err)
	l.Receiver.Message([]byte("{ping:[99]}")) // the fault under test
}

// keepTransport keeps each large message it is given and writes it at the
// next Send, when the caller may have reused the buffer.
type keepTransport struct {
	jstp.Transport
	mu   sync.Mutex
	held []byte
}

func (k *keepTransport) Send(msg []byte) error {
	if len(msg) < 64<<10 {
		return k.Transport.Send(msg)
	}
	k.mu.Lock()
	prev := k.held
	k.held = msg // the fault under test: no copy
	k.mu.Unlock()
	if prev != nil {
		return k.Transport.Send(prev)
	}
	return nil
}

// partsWriteTransport is a PartsSender that flips a bit of every byte of
// the parts and flips it back once it has copied them, as masking a frame
// in place and undoing it would.
type partsWriteTransport struct{ jstp.Transport }

func (p *partsWriteTransport) SendParts(parts [][]byte) error {
	var msg []byte
	for _, part := range parts {
		for i := range part {
			part[i] ^= 0x20 // the fault under test: a write into a part
		}
		for _, c := range part {
			msg = append(msg, c^0x20)
		}
		for i := range part {
			part[i] ^= 0x20
		}
	}
	return p.Transport.Send(msg)
}

// partsKeepTransport is a PartsSender that keeps the parts of each message
// and writes them at the next SendParts, when the caller may have reused
// them.
type partsKeepTransport struct {
	jstp.Transport
	mu   sync.Mutex
	held [][]byte
}

func (k *partsKeepTransport) SendParts(parts [][]byte) error {
	k.mu.Lock()
	prev := k.held
	k.held = slices.Clone(parts) // the fault under test: the parts' bytes are not copied
	k.mu.Unlock()
	if prev != nil {
		return k.Transport.Send(bytes.Join(prev, nil))
	}
	return nil
}

// slowCloseTransport takes a second to close.
type slowCloseTransport struct {
	jstp.Transport
	once sync.Once
}

func (s *slowCloseTransport) Close() error {
	s.once.Do(func() { time.Sleep(time.Second) }) // the fault under test: a slow Close
	return s.Transport.Close()
}

func TestSuiteCatchesFaults(t *testing.T) {
	if os.Getenv(faultEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("spawns child test processes")
	}
	for _, tc := range []struct {
		fault, run string
		want       []string // substrings the child's output must contain
		pass       bool     // the child must pass
	}{
		{"swap", "Ping/Wire", []string{"--- FAIL: TestFaultyFactory/Ping/Wire", "wire answer mismatch"}, false},
		{"leak", "Ping/Wire", []string{"--- FAIL: TestFaultyFactory/Ping/Wire", "goroutines left behind"}, false},
		{"slowclose", "Transport/CloseTwice", []string{"--- FAIL: TestFaultyFactory/Transport/CloseTwice", "watchdog:"}, false},
		{"late", "Transport/CloseTwice", []string{"--- FAIL: TestFaultyFactory/Transport/CloseTwice", "delivered a message after Receiver.Closed"}, false},
		{"lateserver", "Ping/Wire", []string{"--- FAIL: TestFaultyFactory/Ping/Wire", "a transport the server was given", "Message after Closed"}, false},
		{"keep", "Transport/SendKeepsNothing", []string{"--- FAIL: TestFaultyFactory/Transport/SendKeepsNothing", "the transport read the message after Send returned"}, false},
		{"partswrite", "Transport/SendParts", []string{"unexpected fault address", "partsWriteTransport"}, false},
		{"partskeep", "Transport/SendParts", []string{"--- FAIL: TestFaultyFactory/Transport/SendParts", "or were read after SendParts returned"}, false},
		// The reused message either reaches the method changed or (under
		// -race, where released arguments are overwritten) no longer
		// parses, so the server closes the connection: the subtest fails
		// either way, with one of two messages.
		{"takereuse", "Transport/LentArguments", []string{"--- FAIL: TestFaultyFactory/Transport/LentArguments"}, false},
		{"noendbatch", "Call/NonBlocking", []string{"--- FAIL: TestFaultyFactory/Call/NonBlocking", "timed out", "{callback:[1],ok:[5]}"}, false},
		{"dialnoendbatch", "Call/ServerToClientNonBlocking", []string{"--- FAIL: TestFaultyFactory/Call/ServerToClientNonBlocking", "server Call(client.twice, 21)"}, false},
		{"nobreak", "Resume/BufferedResentByServer", []string{"--- FAIL: TestFaultyFactory/Resume/BufferedResentByServer"}, false},
		{"skip", "Ping", []string{"--- SKIP: TestFaultyFactory/Ping/Wire", "declared by the meta test", `"No/Such", which is not a subtest`}, false},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFaultyFactory$/^"+strings.ReplaceAll(tc.run, "/", "$/^")+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), faultEnv+"="+tc.fault)
			out, err := cmd.CombinedOutput()
			if passed := err == nil; passed != tc.pass {
				t.Errorf("child passed = %v, want %v\n%s", passed, tc.pass, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("child output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
