package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// env is what one subtest works with: the factory, a context the watchdog
// cancels, and helpers that start servers, clients and raw connections and
// clean them up when the subtest ends.
type env struct {
	t      *testing.T
	f      Factory
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	aborts []func() // run by the watchdog to unblock a hung subtest
}

// onAbort registers fn to run if the watchdog fires.
func (e *env) onAbort(fn func()) {
	e.mu.Lock()
	e.aborts = append(e.aborts, fn)
	e.mu.Unlock()
}

// abort cancels the subtest's context and closes everything it opened.
func (e *env) abort() {
	e.cancel()
	e.mu.Lock()
	fns := append([]func(){}, e.aborts...)
	e.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// waitCtx returns a context for one wait: cancelled after waitTimeout or by
// the watchdog.
func (e *env) waitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, waitTimeout)
}

// fatalf fails the subtest; it must be called from the subtest goroutine.
func (e *env) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf(format, args...)
}

// await waits for ch to be closed or to deliver a value, failing with what
// otherwise.
func await[T any](e *env, ch <-chan T, what string) T {
	e.t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		e.fatalf("timed out after %v waiting for %s", waitTimeout, what)
	case <-e.ctx.Done():
		e.fatalf("aborted while waiting for %s", what)
	}
	var zero T
	return zero
}

// drain discards what ch holds now.
func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// quiet checks that ch delivers nothing during quietWindow.
func quiet[T any](e *env, ch <-chan T, what string) {
	e.t.Helper()
	select {
	case v := <-ch:
		e.t.Errorf("unexpected %s: %v", what, v)
	case <-time.After(quietWindow):
	}
}

// eventually polls cond every few milliseconds until it holds, failing
// after waitTimeout. Used only where there is no event to wait on (for
// example a list that the server updates internally).
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.fatalf("timed out after %v waiting until %s", waitTimeout, what)
		}
		select {
		case <-time.After(2 * time.Millisecond):
		case <-e.ctx.Done():
			e.fatalf("aborted while waiting until %s", what)
		}
	}
}

// --- servers ---------------------------------------------------------------

// listen creates a server with opts, serves it with the factory and returns
// it with its address. The server is closed when the subtest ends.
//
// The transports the factory's server hands the engine are checked too:
// the engine logs ErrTransportMisuse when one breaks the Receiver
// contract, and that fails the subtest.
func (e *env) listen(opts jstp.ServerOptions) (*jstp.Server, string) {
	e.t.Helper()
	if hook := opts.Hook; hook != nil {
		opts.Hook = func(ev jstp.LogEvent) {
			if ev.Kind == jstp.LogError && errors.Is(ev.Err, jstp.ErrTransportMisuse) {
				e.t.Errorf("a transport the server was given: %v", ev.Err)
			}
			hook(ev)
		}
	} else if opts.Logger == nil {
		// A logger of errors only, rather than a hook: with a hook (or
		// a debug logger) the engine never lends arguments
		// (jstp.BorrowArgs), which Transport/LentArguments checks.
		opts.Logger = slog.New(misuseHandler{e})
	}
	srv, err := jstp.NewServer(opts)
	if err != nil {
		e.fatalf("NewServer: %v", err)
	}
	addr := e.f.Listen(e.t, srv)
	e.t.Cleanup(func() { srv.Close() })
	e.onAbort(func() { srv.Close() })
	return srv, addr
}

// app builds an application from a name ("name" or "name@1.2.3").
func (e *env) app(name string) *jstp.Application {
	e.t.Helper()
	a, err := jstp.NewApplication(name)
	if err != nil {
		e.fatalf("NewApplication(%q): %v", name, err)
	}
	return a
}

// handle registers a typed method and fails the subtest if it is refused.
func (e *env) handle(a *jstp.Application, iface, method string, fn any) {
	e.t.Helper()
	if err := a.Handle(iface, method, fn); err != nil {
		e.fatalf("Handle(%s.%s): %v", iface, method, err)
	}
}

// --- dialing ---------------------------------------------------------------

// dialer returns a Dialer to addr whose transports are wrapped in taps
// recording every message into log (which may be nil).
func (e *env) dialer(addr string, log *wireLog) *tapDialer {
	return &tapDialer{e: e, addr: addr, log: log, dialed: make(chan int, 64)}
}

// tapDialer dials with the factory and wraps each transport in a tap.
type tapDialer struct {
	e    *env
	addr string
	log  *wireLog

	mu   sync.Mutex
	taps []*tap
	fail int // fail this many dials before dialing for real
	// breakAfter and beforeSend are given to new taps (see tap).
	breakAfter func(text string) bool
	beforeSend func(t *tap, msg []byte)
	dials      int32         // number of dial attempts
	gate       chan struct{} // when non-nil, dials wait until it is closed
	dropIn     bool          // new taps drop incoming messages
	dialed     chan int      // receives the index of each successful dial
}

// hold makes later dials wait until unhold.
func (d *tapDialer) hold() {
	d.mu.Lock()
	d.gate = make(chan struct{})
	d.mu.Unlock()
}

// unhold releases waiting and later dials.
func (d *tapDialer) unhold() {
	d.mu.Lock()
	if d.gate != nil {
		close(d.gate)
		d.gate = nil
	}
	d.mu.Unlock()
}

// Dial is a jstp.Dialer.
func (d *tapDialer) Dial(ctx context.Context) (jstp.Transport, error) {
	atomic.AddInt32(&d.dials, 1)
	d.mu.Lock()
	if gate := d.gate; gate != nil {
		d.mu.Unlock()
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.e.ctx.Done():
			return nil, d.e.ctx.Err()
		}
		d.mu.Lock()
	}
	if d.fail > 0 {
		d.fail--
		d.mu.Unlock()
		return nil, errors.New("conformance: dial refused by the test")
	}
	d.mu.Unlock()
	tr, err := d.e.f.Dial(ctx, d.addr)
	if err != nil {
		return nil, err
	}
	tp := &tap{inner: tr, log: d.log, index: -1, closedDone: make(chan struct{})}
	d.mu.Lock()
	tp.index = len(d.taps)
	tp.dropIn.Store(d.dropIn)
	tp.breakAfter, tp.env, tp.beforeSend = d.breakAfter, d.e, d.beforeSend
	d.taps = append(d.taps, tp)
	d.mu.Unlock()
	select {
	case d.dialed <- tp.index:
	default:
	}
	d.e.onAbort(func() { tr.Close() })
	return tp, nil
}

// last returns the most recently dialed transport.
func (d *tapDialer) last() *tap {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.taps) == 0 {
		return nil
	}
	return d.taps[len(d.taps)-1]
}

// count returns the number of dial attempts.
func (d *tapDialer) count() int { return int(atomic.LoadInt32(&d.dials)) }

// breakTransport severs tr abruptly with the factory's Break, or closes it.
func (e *env) breakTransport(tr jstp.Transport) {
	if tp, ok := tr.(*tap); ok {
		tr = tp.inner
	}
	if e.f.Break != nil {
		e.f.Break(tr)
		return
	}
	tr.Close()
}

// --- taps ------------------------------------------------------------------

// direction of a recorded message.
type direction int

const (
	out direction = iota // sent by the local engine
	in                   // received from the peer
)

func (d direction) String() string {
	if d == out {
		return "out"
	}
	return "in"
}

// wireMsg is one recorded message.
type wireMsg struct {
	dir       direction
	transport int // index of the transport in its dialer
	text      string
	dropped   bool // discarded by the tap, never reached the wire or the engine
}

func (m wireMsg) String() string {
	s := fmt.Sprintf("#%d %s %s", m.transport, m.dir, m.text)
	if m.dropped {
		s += " (dropped)"
	}
	return s
}

// wireLog records the messages passing through taps.
type wireLog struct {
	mu      sync.Mutex
	msgs    []wireMsg
	changed chan struct{}
}

func newWireLog() *wireLog { return &wireLog{changed: make(chan struct{})} }

func (l *wireLog) add(m wireMsg) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// snapshot returns the recorded messages and a channel closed on the next
// addition.
func (l *wireLog) snapshot() ([]wireMsg, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]wireMsg(nil), l.msgs...), l.changed
}

// filter returns the recorded messages matching pred.
func (l *wireLog) filter(pred func(wireMsg) bool) []wireMsg {
	all, _ := l.snapshot()
	var outMsgs []wireMsg
	for _, m := range all {
		if pred(m) {
			outMsgs = append(outMsgs, m)
		}
	}
	return outMsgs
}

// waitFor waits until pred holds for some recorded message and returns it.
func (l *wireLog) waitFor(e *env, what string, pred func(wireMsg) bool) wireMsg {
	e.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		all, changed := l.snapshot()
		for _, m := range all {
			if pred(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-deadline:
			e.fatalf("timed out waiting for %s; wire so far:\n%s", what, dumpWire(all))
		case <-e.ctx.Done():
			e.fatalf("aborted while waiting for %s", what)
		}
	}
}

func dumpWire(msgs []wireMsg) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("  ")
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// tap wraps a Transport, recording what passes and optionally dropping it.
type tap struct {
	inner jstp.Transport
	log   *wireLog
	index int

	dropOut atomic.Bool // discard outgoing messages (they are "lost in the network")
	dropIn  atomic.Bool // discard incoming messages

	// breakAfter, when set, is consulted after each incoming message is
	// delivered; when it returns true the transport is broken at once.
	breakAfter func(text string) bool
	env        *env

	closeOnce  sync.Once
	closedDone chan struct{} // closed once the engine's Receiver.Closed has returned

	// beforeSend, when set, is called before each outgoing message.
	beforeSend func(t *tap, msg []byte)
	recv       *tapReceiver
	mu         sync.Mutex
	holdOut    bool
	held       [][]byte
}

func (t *tap) Start(r jstp.Receiver) {
	t.recv = &tapReceiver{t: t, r: r, cc: contract{t: t.env.t}}
	t.inner.Start(t.recv)
}

func (t *tap) Send(msg []byte) error {
	if t.beforeSend != nil {
		t.beforeSend(t, msg)
	}
	t.mu.Lock()
	if t.holdOut {
		t.held = append(t.held, append([]byte(nil), msg...))
		t.mu.Unlock()
		t.log.add(wireMsg{dir: out, transport: t.index, text: string(msg), dropped: true})
		return nil
	}
	t.mu.Unlock()
	drop := t.dropOut.Load()
	t.log.add(wireMsg{dir: out, transport: t.index, text: string(msg), dropped: drop})
	if drop {
		return nil
	}
	return t.inner.Send(msg)
}

// Close closes the transport, unless it was fake-closed: then the inner
// transport stays open until the subtest closes it.
func (t *tap) Close() error {
	if t.recv != nil && t.recv.fake.Load() {
		return nil
	}
	return t.inner.Close()
}

func (t *tap) RemoteAddr() net.Addr { return t.inner.RemoteAddr() }

// ReadsBatches passes the inner transport's jstp.ReadBatcher promise on,
// so that the dialing side's engine runs jstp.NonBlocking methods on the
// inner transport's reader, as it would without the tap; the tap's
// Receiver passes EndBatch on.
func (t *tap) ReadsBatches() bool {
	rb, ok := t.inner.(jstp.ReadBatcher)
	return ok && rb.ReadsBatches()
}

// hold makes later Sends queue their messages in the tap instead of sending
// them.
func (t *tap) hold() {
	t.mu.Lock()
	t.holdOut = true
	t.mu.Unlock()
}

// flushSome sends the first k held messages (all when k < 0) to the inner
// transport and discards the rest, as lost in the network.
func (t *tap) flushSome(k int) {
	t.mu.Lock()
	held := t.held
	t.held, t.holdOut = nil, false
	t.mu.Unlock()
	if k >= 0 && k < len(held) {
		held = held[:k]
	}
	for _, m := range held {
		t.inner.Send(m)
	}
}

// fakeClose tells the engine that the transport closed, while the inner
// transport stays open: the local side believes the connection dropped,
// the peer does not know yet (as when one side of a TCP connection times
// out first).
func (t *tap) fakeClose() {
	tr := t.recv
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.fake.Swap(true) || tr.closed {
		return
	}
	tr.closed = true
	tr.r.Closed(jstp.ErrTransportBroken)
	t.closeOnce.Do(func() { close(t.closedDone) })
}

type tapReceiver struct {
	t  *tap
	r  jstp.Receiver
	cc contract // what the inner transport does; fakeClose is not its doing

	mu     sync.Mutex // serializes calls into the engine's Receiver
	fake   atomic.Bool
	closed bool
}

func (tr *tapReceiver) Message(data []byte) {
	tr.cc.enter(false, data)
	defer tr.cc.leave()
	tr.mu.Lock()
	if tr.closed {
		tr.mu.Unlock()
		return
	}
	drop := tr.t.dropIn.Load()
	tr.t.log.add(wireMsg{dir: in, transport: tr.t.index, text: string(data), dropped: drop})
	if !drop {
		tr.r.Message(data)
	}
	tr.mu.Unlock()
	if tr.t.breakAfter != nil && tr.t.breakAfter(string(data)) {
		go tr.t.env.breakTransport(tr.t)
	}
}

// EndBatch passes the end of a read on to the engine (jstp.BatchEnder),
// unless the tap's Receiver is closed.
func (tr *tapReceiver) EndBatch() {
	tr.cc.enterEndBatch()
	defer tr.cc.leave()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.closed {
		return
	}
	if be, ok := tr.r.(jstp.BatchEnder); ok {
		be.EndBatch()
	}
}

func (tr *tapReceiver) Closed(err error) {
	tr.cc.enter(true, nil)
	defer tr.cc.leave()
	tr.mu.Lock()
	if tr.closed {
		tr.mu.Unlock()
		return
	}
	tr.closed = true
	tr.r.Closed(err)
	tr.mu.Unlock()
	tr.t.closeOnce.Do(func() { close(tr.t.closedDone) })
}

// --- raw connections ---------------------------------------------------------

// rawConn is a client that speaks the wire directly: the suite sends exact
// mdsf text and checks the server's exact answers.
type rawConn struct {
	e  *env
	tr jstp.Transport

	mu      sync.Mutex
	queue   []string
	changed chan struct{}
	closed  chan struct{}
	err     error
	cc      contract
}

// raw dials addr with the factory and starts reading.
func (e *env) raw(addr string) *rawConn {
	e.t.Helper()
	ctx, cancel := e.waitCtx()
	defer cancel()
	tr, err := e.f.Dial(ctx, addr)
	if err != nil {
		e.fatalf("Dial(%q): %v", addr, err)
	}
	rc := e.newRawConn(tr)
	tr.Start(rc)
	e.t.Cleanup(func() {
		tr.Close()
		select {
		case <-rc.closed:
		case <-time.After(waitTimeout):
			e.t.Errorf("raw transport: Receiver.Closed not called within %v of Close", waitTimeout)
		}
	})
	e.onAbort(func() { tr.Close() })
	return rc
}

// newRawConn returns a rawConn for tr, not yet started.
func (e *env) newRawConn(tr jstp.Transport) *rawConn {
	return &rawConn{e: e, tr: tr, changed: make(chan struct{}), closed: make(chan struct{}), cc: contract{t: e.t}}
}

// Message implements jstp.Receiver.
func (rc *rawConn) Message(data []byte) {
	defer rc.cc.leave()
	if !rc.cc.enter(false, data) {
		return
	}
	rc.mu.Lock()
	rc.queue = append(rc.queue, string(data))
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// Closed implements jstp.Receiver.
func (rc *rawConn) Closed(err error) {
	defer rc.cc.leave()
	if !rc.cc.enter(true, nil) {
		return
	}
	rc.mu.Lock()
	rc.err = err
	rc.mu.Unlock()
	close(rc.closed)
}

// send transmits text as one message.
func (rc *rawConn) send(text string) {
	rc.e.t.Helper()
	if err := rc.tr.Send([]byte(text)); err != nil {
		rc.e.fatalf("raw Send(%s): %v", text, err)
	}
}

// next returns the next message, failing if none arrives or the transport
// closes first.
func (rc *rawConn) next(what string) string {
	rc.e.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		rc.mu.Lock()
		if len(rc.queue) > 0 {
			m := rc.queue[0]
			rc.queue = rc.queue[1:]
			rc.mu.Unlock()
			return m
		}
		changed := rc.changed
		rc.mu.Unlock()
		select {
		case <-changed:
		case <-rc.closed:
			rc.mu.Lock()
			n := len(rc.queue)
			rc.mu.Unlock()
			if n == 0 {
				rc.e.fatalf("transport closed (%v) while waiting for %s", rc.err, what)
			}
		case <-deadline:
			rc.e.fatalf("timed out after %v waiting for %s", waitTimeout, what)
		case <-rc.e.ctx.Done():
			rc.e.fatalf("aborted while waiting for %s", what)
		}
	}
}

// expect checks that the next message is exactly want.
func (rc *rawConn) expect(want string) {
	rc.e.t.Helper()
	if got := rc.next(want); got != want {
		rc.e.t.Fatalf("wire answer mismatch\n got: %s\nwant: %s", got, want)
	}
}

// expectMatch checks the next message against the regular expression
// pattern (anchored) and returns its submatches.
func (rc *rawConn) expectMatch(pattern string) []string {
	rc.e.t.Helper()
	re := regexp.MustCompile("^(?:" + pattern + ")$")
	got := rc.next(pattern)
	m := re.FindStringSubmatch(got)
	if m == nil {
		rc.e.t.Fatalf("wire answer mismatch\n got: %s\nwant: /%s/", got, pattern)
	}
	return m
}

// expectClosed waits for the transport to close and fails if any message
// other than those listed in allowed arrives first.
func (rc *rawConn) expectClosed(what string) {
	rc.e.t.Helper()
	select {
	case <-rc.closed:
	case <-time.After(waitTimeout):
		rc.e.fatalf("%s: the peer did not close the connection within %v", what, waitTimeout)
	case <-rc.e.ctx.Done():
		rc.e.fatalf("aborted while waiting for close: %s", what)
	}
	rc.mu.Lock()
	left := append([]string(nil), rc.queue...)
	rc.queue = nil
	rc.mu.Unlock()
	if len(left) > 0 {
		rc.e.t.Errorf("%s: unexpected messages before the close: %q", what, left)
	}
}

// uuidV4 matches a UUID version 4 in canonical form.
const uuidV4 = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`

// handshake performs an anonymous handshake to app and returns the session id.
func (rc *rawConn) handshake(app string) string {
	rc.e.t.Helper()
	rc.send(fmt.Sprintf("{handshake:[0,'%s']}", app))
	return rc.expectMatch(`\{handshake:\[0\],ok:'(` + uuidV4 + `)'\}`)[1]
}

// alive checks the connection still works: a ping with id gets its pong.
func (rc *rawConn) alive(id int) {
	rc.e.t.Helper()
	rc.send(fmt.Sprintf("{ping:[%d]}", id))
	rc.expect(fmt.Sprintf("{pong:[%d]}", id))
}

// brk severs the raw connection abruptly.
func (rc *rawConn) brk() {
	rc.e.breakTransport(rc.tr)
	select {
	case <-rc.closed:
	case <-time.After(waitTimeout):
		rc.e.fatalf("Break: Receiver.Closed not called within %v", waitTimeout)
	}
}

// contract checks what a Transport promises the Receiver it is started
// with (see jstp.Transport.Start): one call at a time, never two at once;
// Closed exactly once; no Message after Closed. Every Receiver the suite
// gives a transport under test calls enter first and leave last.
type contract struct {
	t      *testing.T
	inCall atomic.Bool
	closed atomic.Int32
}

// enter records the start of a Message (closing false, with its data) or
// Closed call and reports whether the call is one the contract allows,
// failing the test if it is not.
func (c *contract) enter(closing bool, data []byte) bool {
	ok := true
	if !c.inCall.CompareAndSwap(false, true) {
		c.t.Errorf("the transport called its Receiver while another call was under way (Start promises one call at a time)")
		ok = false
	}
	if closing {
		if n := c.closed.Add(1); n != 1 {
			c.t.Errorf("the transport called Receiver.Closed %d times", n)
			return false
		}
	} else if c.closed.Load() != 0 {
		c.t.Errorf("the transport delivered a message after Receiver.Closed: %.200s", data)
		return false
	}
	return ok
}

// enterEndBatch records the start of an EndBatch call, which must not
// overlap another call either (after Closed it is harmless, and allowed).
func (c *contract) enterEndBatch() {
	if !c.inCall.CompareAndSwap(false, true) {
		c.t.Errorf("the transport called EndBatch while another Receiver call was under way")
	}
}

// leave records the end of a call.
func (c *contract) leave() { c.inCall.Store(false) }

// misuseHandler is the slog handler of the servers the suite starts: it
// fails the subtest when the engine logs ErrTransportMisuse, and drops
// every other record.
type misuseHandler struct{ e *env }

func (misuseHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (h misuseHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && strings.Contains(a.Value.String(), jstp.ErrTransportMisuse.Error()) {
			h.e.t.Errorf("a transport the server was given: %s", a.Value.String())
			return false
		}
		return true
	})
	return nil
}

func (h misuseHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h misuseHandler) WithGroup(string) slog.Handler      { return h }
