package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"time"

	jstp "github.com/jstp-go/jstp/core"
	"github.com/jstp-go/jstp/core/mdsf"
)

func init() {
	register("Call",
		testCase{"ArgumentTypes", testCallArgumentTypes},
		testCase{"ArgumentTypesWire", testCallArgumentTypesWire},
		testCase{"Typed", testCallTyped},
		testCase{"MultipleResults", testCallMultipleResults},
		testCase{"NoResults", testCallNoResults},
		testCase{"LargeMessage", testCallLargeMessage},
		testCase{"Concurrent", testCallConcurrent},
		testCase{"ServerToClient", testCallServerToClient},
		testCase{"ContextCancel", testCallContextCancel},
		testCase{"SharedContextCancel", testCallSharedContextCancel},
		testCase{"PendingFailOnClose", testCallPendingFailOnClose},
		testCase{"PendingFailOnDrop", testCallPendingFailOnDrop},
		testCase{"IDs", testCallIDs},
		testCase{"NonBlocking", testCallNonBlocking},
		testCase{"ServerToClientNonBlocking", testCallServerToClientNonBlocking},
	)
	register("Call/Errors",
		testCase{"Code12", testCallErrorInterfaceNotFound},
		testCase{"Code14", testCallErrorMethodNotFound},
		testCase{"Code16Panic", testCallErrorPanic},
		testCase{"Code16PlainError", testCallErrorPlain},
		testCase{"Code17Arity", testCallErrorArity},
		testCase{"Code17Types", testCallErrorTypes},
		testCase{"Custom", testCallErrorCustom},
		testCase{"Wire", testCallErrorsWire},
	)
}

// argumentValues are the values each side must carry unchanged.
var argumentValues = []any{
	"", "plain", "quote ' and \" and \\ backslash", "line\nbreak\ttab\r", "nul\x00byte",
	"unicode: żółw 雪 🐢", strings.Repeat("x", 1000),
	0.0, 1.0, -1.0, 42.0, 0.1, -2.5, 1e21, 1e-7, 9007199254740991.0, -9007199254740991.0,
	true, false, nil,
	[]any{}, []any{1.0, "two", []any{3.0}},
	mdsf.Object{}, mdsf.Object{{Key: "a", Value: 1.0}, {Key: "b c", Value: "d"}, {Key: "nested", Value: mdsf.Object{{Key: "x", Value: []any{true}}}}},
}

// Arguments of every mdsf type reach the method unchanged, and results come
// back unchanged.
func testCallArgumentTypes(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	for i, v := range argumentValues {
		got := c.call("echo", v)
		if len(got) != 1 || !sameValue(got[0], v) {
			e.t.Errorf("value #%d: echo(%#v) = %#v", i, v, got)
		}
	}
	// All at once, as one argument list.
	got := c.call("echo", argumentValues...)
	if !sameValue(got, argumentValues) {
		e.t.Errorf("echo(all values) = %#v", got)
	}
	// Go values a user naturally passes are encoded as their mdsf equivalents.
	got = c.call("echo", 7, int64(-3), uint8(200), float32(0.5), map[string]any{"k": "v"}, []string{"a", "b"}, []int{1, 2})
	want := []any{7.0, -3.0, 200.0, 0.5, mdsf.Object{{Key: "k", Value: "v"}}, []any{"a", "b"}, []any{1.0, 2.0}}
	if !sameValue(got, want) {
		e.t.Errorf("echo(Go values) = %#v, want %#v", got, want)
	}
}

// The server writes values the way the reference does: single-quoted
// strings, bare keys, JavaScript numbers, holes for undefined.
func testCallArgumentTypesWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	cases := []struct{ args, want string }{
		{`[1,'a',true,false,null,[1,2],{a:1}]`, `[1,'a',true,false,null,[1,2],{a:1}]`},
		{`["double", 'it\'s']`, `['double','it\'s']`},
		{`[0.1, 1e21, 1E-7, -0, 0x1F, .5, +3]`, `[0.1,1e+21,1e-7,0,31,0.5,3]`},
		{`[{'b c':1, $d:2, _e:3, "1x":4}]`, `[{'b c':1,$d:2,_e:3,'1x':4}]`},
		{`['\u00e9\n\t\\', '\x41']`, `['é\n\t\\','A']`},
		{`[ /* comment */ 1, // line
		  2, ]`, `[1,2]`},
		{`[undefined, , 3]`, `[,,3]`},
		{`[{a:undefined, b:1}]`, `[{b:1}]`},
	}
	for i, tc := range cases {
		id := i + 1
		rc.send(fmt.Sprintf("{call:[%d,'iface'],echo:%s}", id, tc.args))
		rc.expect(fmt.Sprintf("{callback:[%d],ok:%s}", id, tc.want))
	}
}

// Typed Go methods receive decoded arguments and return encoded results.
func testCallTyped(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	if got := c.call("add", 2, 40); !sameValue(got, []any{42.0}) {
		e.t.Errorf("add(2, 40) = %#v, want [42]", got)
	}
	if got := c.call("version"); !sameValue(got, []any{"1.0.0"}) {
		e.t.Errorf("version() = %#v, want ['1.0.0']", got)
	}
}

// A method may return several results; they travel as ok:[r1, r2].
func testCallMultipleResults(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	got := c.call("echo", 1, "two", false)
	if !sameValue(got, []any{1.0, "two", false}) {
		e.t.Errorf("echo(1, 'two', false) = %#v", got)
	}
	wire := c.log.waitFor(e, "the echo callback", func(m wireMsg) bool {
		return m.dir == in && strings.HasPrefix(m.text, "{callback:")
	})
	if want := "{callback:[1],ok:[1,'two',false]}"; wire.text != want {
		e.t.Errorf("callback on the wire = %s, want %s", wire.text, want)
	}
}

// A method with no results answers ok:[].
func testCallNoResults(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{call:[1,'other'],nothing:[]}")
	rc.expect("{callback:[1],ok:[]}")
}

// Messages larger than 1 MiB cross the transport intact (WebSocket
// adapters must fragment and reassemble).
func testCallLargeMessage(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	big := strings.Repeat("0123456789abcdef", 1<<16+1) + "end" // a little over 1 MiB
	got := c.call("echo", big)
	if len(got) != 1 || got[0] != big {
		s, _ := got[0].(string)
		e.t.Errorf("1 MiB string came back with %d bytes", len(s))
	}
}

// Hundreds of calls in flight at once complete, each with its own result,
// although the server answers them in a shuffled order.
func testCallConcurrent(e *env) {
	const n = 300
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	results := make([]<-chan callResult, n)
	for i := 0; i < n; i++ {
		results[i] = c.callAsync(false, "block", i)
	}
	started := map[int]bool{}
	for len(started) < n {
		started[await(e, fx.blocked, fmt.Sprintf("call %d of %d to start", len(started)+1, n))] = true
	}
	// Release in a random order; each release lets one handler finish.
	order := rand.Perm(n)
	for range order {
		fx.release <- struct{}{}
	}
	for i, ch := range results {
		r := await(e, ch, fmt.Sprintf("call %d to complete", i))
		if r.err != nil || !sameValue(r.res, []any{float64(i)}) {
			e.t.Errorf("call %d: %v, want [%d]", i, r, i)
		}
	}
	// Also the raw way, answers in a different order than asked.
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{call:[1,'iface'],block:[1]}")
	rc.send("{call:[2,'iface'],echo:['fast']}")
	await(e, fx.blocked, "block(1) to start")
	rc.expect("{callback:[2],ok:['fast']}")
	fx.release <- struct{}{}
	rc.expect("{callback:[1],ok:[1]}")
}

// Calls to a method registered with jstp.NonBlocking are answered, alone
// and hundreds at once, while a call to a method that waits holds a worker.
// Over a transport that reads in batches (jstp.ReadBatcher) the server runs
// them on the transport's reader and writes their answers at EndBatch: a
// transport that says it reads in batches and does not call EndBatch
// leaves them unanswered.
func testCallNonBlocking(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{call:[1,'iface'],quick:[5]}")
	rc.expect("{callback:[1],ok:[5]}")

	c := e.connect(fx.addr, appName)
	blocked := c.callAsync(false, "block", -1)
	await(e, fx.blocked, "block(-1) to start")
	const n = 300
	results := make([]<-chan callResult, n)
	for i := range results {
		results[i] = c.callAsync(false, "quick", i)
	}
	for i, ch := range results {
		r := await(e, ch, fmt.Sprintf("quick(%d) to complete", i))
		if r.err != nil || !sameValue(r.res, []any{float64(i)}) {
			e.t.Errorf("quick(%d): %v, want [%d]", i, r, i)
		}
	}
	fx.release <- struct{}{}
	if r := await(e, blocked, "block(-1) to complete"); r.err != nil || !sameValue(r.res, []any{-1.0}) {
		e.t.Errorf("block(-1): %v, want [-1]", r)
	}
}

// The server calls methods of the client's application, with the server's
// ids counting down.
func testCallServerToClient(e *env) {
	fx := e.newFixture()
	clientApp := e.app("clientapp@1.0.0")
	e.handle(clientApp, "client", "mul", func(a, b int) int { return a * b })
	c := e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.Application = clientApp })
	sc := fx.serverConn()
	ctx, cancel := e.waitCtx()
	defer cancel()
	got, err := sc.Call(ctx, "client", "mul", 6, 7)
	if err != nil || !sameValue(got, []any{42.0}) {
		e.t.Errorf("server Call(client.mul, 6, 7) = %v, %v; want [42]", got, err)
	}
	if _, err := sc.Call(ctx, "client", "nope"); !errors.Is(err, jstp.ErrMethodNotFound) {
		e.t.Errorf("server Call(client.nope) err = %v, want 14", err)
	}
	if _, err := sc.Call(ctx, "nope", "x"); !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("server Call(nope.x) err = %v, want 12", err)
	}
	m := c.log.waitFor(e, "the server's call", func(m wireMsg) bool { return m.dir == in && strings.HasPrefix(m.text, "{call:") })
	if want := "{call:[-1,'client'],mul:[6,7]}"; m.text != want {
		e.t.Errorf("server call on the wire = %s, want %s", m.text, want)
	}
	m = c.log.waitFor(e, "the client's callback", func(m wireMsg) bool { return m.dir == out && strings.HasPrefix(m.text, "{callback:") })
	if want := "{callback:[-1],ok:[42]}"; m.text != want {
		e.t.Errorf("client callback on the wire = %s, want %s", m.text, want)
	}
}

// The server calls a method of the client's application registered with
// jstp.NonBlocking, alone and hundreds at once: the dialed side's reader
// runs them, and a dialed transport that says it reads in batches
// (jstp.ReadBatcher) and does not call EndBatch leaves them unanswered.
func testCallServerToClientNonBlocking(e *env) {
	fx := e.newFixture()
	clientApp := e.app("clientapp@1.0.0")
	if err := clientApp.Handle("client", "twice", func(n int) int { return 2 * n }, jstp.NonBlocking()); err != nil {
		e.fatalf("Handle(client.twice): %v", err)
	}
	e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.Application = clientApp })
	sc := fx.serverConn()
	ctx, cancel := e.waitCtx()
	defer cancel()
	if got, err := sc.Call(ctx, "client", "twice", 21); err != nil || !sameValue(got, []any{42.0}) {
		e.t.Errorf("server Call(client.twice, 21) = %v, %v; want [42]", got, err)
	}
	const n = 300
	type answer struct {
		got []any
		err error
	}
	answers := make([]chan answer, n)
	for i := range answers {
		answers[i] = make(chan answer, 1)
		go func() {
			got, err := sc.Call(ctx, "client", "twice", i)
			answers[i] <- answer{got, err}
		}()
	}
	for i, ch := range answers {
		a := await(e, ch, fmt.Sprintf("client.twice(%d) to complete", i))
		if a.err != nil || !sameValue(a.got, []any{float64(2 * i)}) {
			e.t.Errorf("server Call(client.twice, %d) = %v, %v; want [%d]", i, a.got, a.err, 2*i)
		}
	}
}

// A call whose context ends returns the context's error promptly; a late
// callback for it is ignored and the connection keeps working.
func testCallContextCancel(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, "iface", "block", 1)
		done <- err
	}()
	await(e, fx.blocked, "block(1) to start")
	cancel()
	err := await(e, done, "the cancelled call to return")
	if !errors.Is(err, context.Canceled) {
		e.t.Errorf("cancelled Call err = %v, want context.Canceled", err)
	}
	fx.release <- struct{}{}
	if got := c.call("echo", "after"); !sameValue(got, []any{"after"}) {
		e.t.Errorf("echo after a cancelled call = %v", got)
	}
}

// Calls waiting together under one context all return its error promptly
// when it is cancelled (the engine watches a context its calls share
// instead of each call selecting on it); late callbacks for them are
// ignored and the connection keeps working.
func testCallSharedContextCancel(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	ctx, cancel := context.WithCancel(e.ctx)
	const calls = 4
	done := make(chan error, calls)
	for i := range calls {
		go func() {
			_, err := c.Call(ctx, "iface", "block", i)
			done <- err
		}()
		await(e, fx.blocked, "a blocking call to start")
	}
	cancel()
	for range calls {
		if err := await(e, done, "a cancelled call to return"); !errors.Is(err, context.Canceled) {
			e.t.Errorf("call under a cancelled shared context: err = %v, want context.Canceled", err)
		}
	}
	for range calls {
		fx.release <- struct{}{}
	}
	if got := c.call("echo", "after"); !sameValue(got, []any{"after"}) {
		e.t.Errorf("echo after the cancelled calls = %v", got)
	}
}

// Calls pending when the connection is closed fail at once, never hang.
func testCallPendingFailOnClose(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	pending := []<-chan callResult{c.callAsync(false, "block", 1), c.callAsync(false, "block", 2)}
	await(e, fx.blocked, "block to start")
	await(e, fx.blocked, "block to start")
	c.Close()
	for i, ch := range pending {
		r := await(e, ch, "a pending call to fail after Close")
		if r.err == nil {
			e.t.Errorf("pending call %d succeeded after Close: %v", i, r)
		}
	}
	if _, err := c.Call(e.ctx, "iface", "echo"); err == nil {
		e.t.Errorf("Call after Close succeeded")
	}
}

// Calls pending when the connection drops, with a reconnector that gives
// up, fail with -1 (ErrCallbackLost), never hang; other connections are
// unaffected.
func testCallPendingFailOnDrop(e *env) {
	fx := e.newFixture()
	bystander := e.connect(fx.addr, appName)
	c := e.connect(fx.addr, appName)
	pending := c.callAsync(false, "block", 1)
	await(e, fx.blocked, "block to start")
	c.brk()
	r := await(e, pending, "the pending call to fail after the drop")
	if !errors.Is(r.err, jstp.ErrCallbackLost) {
		e.t.Errorf("pending call after a drop with no reconnect: %v, want code -1", r)
	}
	await(e, c.Done(), "Done() after the reconnector gave up")
	if got := bystander.call("echo", "still here"); !sameValue(got, []any{"still here"}) {
		e.t.Errorf("bystander echo = %v", got)
	}
}

// Client ids count up from 0 (the handshake) and every call, event, ping
// and inspect takes the next one; callbacks reuse the call's id.
func testCallIDs(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.call("echo")
	if err := c.Emit("iface", "hello"); err != nil {
		e.fatalf("Emit: %v", err)
	}
	ctx, cancel := e.waitCtx()
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		e.fatalf("Ping: %v", err)
	}
	if _, err := c.Inspect(ctx, "iface"); err != nil {
		e.fatalf("Inspect: %v", err)
	}
	c.call("echo")
	var got []string
	for _, m := range c.log.filter(func(m wireMsg) bool { return m.dir == out }) {
		got = append(got, m.text)
	}
	want := []string{
		"{handshake:[0,'app']}",
		"{call:[1,'iface'],echo:[]}",
		"{event:[2,'iface'],hello:[]}",
		"{ping:[3]}",
		"{inspect:[4,'iface']}",
		"{call:[5,'iface'],echo:[]}",
	}
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("client messages:\n got %q\nwant %q", got, want)
	}
	var answers []string
	for _, m := range c.log.filter(func(m wireMsg) bool { return m.dir == in }) {
		answers = append(answers, m.text)
	}
	if len(answers) < 5 || answers[1] != "{callback:[1],ok:[]}" || answers[2] != "{pong:[3]}" ||
		!strings.HasPrefix(answers[3], "{callback:[4],ok:[") || answers[4] != "{callback:[5],ok:[]}" {
		e.t.Errorf("server answers: %q", answers)
	}
}

func testCallErrorInterfaceNotFound(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	_, err := c.Call(e.ctx, "nope", "echo")
	if !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("call to an unknown interface: err = %v, want 12", err)
	}
}

func testCallErrorMethodNotFound(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	_, err := c.Call(e.ctx, "iface", "nope")
	if !errors.Is(err, jstp.ErrMethodNotFound) {
		e.t.Errorf("call to an unknown method: err = %v, want 14", err)
	}
}

// A panicking method answers 16 and the server keeps serving, this
// connection and others.
func testCallErrorPanic(e *env) {
	fx := e.newFixture()
	other := e.connect(fx.addr, appName)
	c := e.connect(fx.addr, appName)
	_, err := c.Call(e.ctx, "iface", "panic")
	if !errors.Is(err, jstp.ErrInternalAPIError) {
		e.t.Errorf("call to a panicking method: err = %v, want 16", err)
	}
	if got := c.call("echo", 1); !sameValue(got, []any{1.0}) {
		e.t.Errorf("echo after a panic = %v", got)
	}
	if got := other.call("echo", 2); !sameValue(got, []any{2.0}) {
		e.t.Errorf("other connection's echo after a panic = %v", got)
	}
}

// A plain Go error answers 16 without leaking its text.
func testCallErrorPlain(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{call:[1,'iface'],plainError:[]}")
	rc.expect("{callback:[1],error:[16]}")
}

// A wrong argument count answers 17.
func testCallErrorArity(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	for _, args := range [][]any{{}, {1}, {1, 2, 3}} {
		_, err := c.Call(e.ctx, "iface", "add", args...)
		if !errors.Is(err, jstp.ErrInvalidSignature) {
			e.t.Errorf("add%v: err = %v, want 17", args, err)
		}
	}
}

// Arguments that do not fit a typed method's parameters answer 17.
func testCallErrorTypes(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	_, err := c.Call(e.ctx, "iface", "add", "one", "two")
	if !errors.Is(err, jstp.ErrInvalidSignature) {
		e.t.Errorf("add('one', 'two'): err = %v, want 17", err)
	}
}

// A custom RemoteError travels as [code, message, ...info] and comes back
// as the same RemoteError.
func testCallErrorCustom(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	_, err := c.Call(e.ctx, "iface", "fail")
	var re *jstp.RemoteError
	if !errors.As(err, &re) {
		e.fatalf("fail(): err = %v, want a *RemoteError", err)
	}
	if re.Code != 42 || re.Message != "custom" || !sameValue(re.Info, []any{1.0, "x"}) {
		e.t.Errorf("fail(): %#v, want code 42, message custom, info [1 x]", re)
	}
	// Predefined codes carry their default message locally.
	_, err = c.Call(e.ctx, "iface", "nope")
	if errors.As(err, &re) && re.Message != jstp.DefaultMessage(14) {
		e.t.Errorf("code 14 message = %q, want %q", re.Message, jstp.DefaultMessage(14))
	}
}

// The error answers byte for byte: a predefined code alone, a custom one
// with its message and info.
func testCallErrorsWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	for i, tc := range []struct{ call, want string }{
		{"{call:[%d,'nope'],echo:[]}", "{callback:[%d],error:[12]}"},
		{"{call:[%d,'iface'],nope:[]}", "{callback:[%d],error:[14]}"},
		{"{call:[%d,'iface'],panic:[]}", "{callback:[%d],error:[16]}"},
		{"{call:[%d,'iface'],add:[1]}", "{callback:[%d],error:[17]}"},
		{"{call:[%d,'iface'],fail:[]}", "{callback:[%d],error:[42,'custom',1,'x']}"},
	} {
		id := i + 1
		rc.send(fmt.Sprintf(tc.call, id))
		rc.expect(fmt.Sprintf(tc.want, id))
	}
}

// sameValue compares decoded mdsf values, treating every Go number as a
// float64 and every map as an object with its keys in any order.
func sameValue(a, b any) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case mdsf.Object:
		m := make(map[string]any, len(x))
		for _, mem := range x {
			m[mem.Key] = normalize(mem.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			m[fmt.Sprint(k.Interface())] = normalize(rv.MapIndex(k).Interface())
		}
		return m
	}
	return v
}

var _ = time.Second
