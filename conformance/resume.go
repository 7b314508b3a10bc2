package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Resume",
		testCase{"SameSession", testResumeSameSession},
		testCase{"HandshakeWire", testResumeHandshakeWire},
		testCase{"BufferedResent", testResumeBufferedResent},
		testCase{"BufferedResentByServer", testResumeBufferedResentByServer},
		testCase{"NothingLost", testResumeNothingLost},
		testCase{"ServerEmitsWhileDisconnected", testResumeServerEmitsWhileDisconnected},
		testCase{"PendingCallResent", testResumePendingCallResent},
		testCase{"IDsContinue", testResumeIDsContinue},
		testCase{"ServerIDsContinue", testResumeServerIDsContinue},
		testCase{"ResendExecutedOnce", testResumeResendExecutedOnce},
		testCase{"ResendOriginalArgs", testResumeResendOriginalArgs},
		testCase{"CallbackLostReported", testResumeCallbackLostReported},
		testCase{"Twice", testResumeTwice},
		testCase{"DropRightAfterResume", testResumeDropRightAfterResume},
		testCase{"LateMessagesOnOldTransport", func(e *env) { testResumeLateMessages(e, -1) }},
		testCase{"HandlersInOrderAcrossResume", func(e *env) { testResumeLateMessages(e, 100) }},
		testCase{"FromStorage", testResumeFromStorage},
		testCase{"ServerNotifications", testResumeServerNotifications},
	)
}

// reconnect lets the client's reconnector redial over the original dialer,
// breaks the current transport, and waits until the server reports the
// resumed connection.
func (fx *fixture) breakAndResume(c *client) *jstp.Connection {
	fx.e.t.Helper()
	c.d.mu.Lock()
	before := len(c.d.taps)
	c.d.mu.Unlock()
	c.rec.allow(nil)
	c.brk()
	var sc *jstp.Connection
	select {
	case sc = <-fx.resumed:
	case <-time.After(waitTimeout):
		all, _ := c.log.snapshot()
		fx.e.fatalf("timed out after %v waiting for the server's OnReconnect after the break "+
			"(reconnector consulted %d times, %d dials, client connected: %v, done: %v); wire:\n%s",
			waitTimeout, len(c.rec.asked), c.d.count(), c.Connected(), isDone(c.Done()), dumpWire(all))
	case <-fx.e.ctx.Done():
		fx.e.fatalf("aborted while waiting for the resume")
	}
	c.log.waitFor(fx.e, "the resume answer", func(m wireMsg) bool {
		return m.dir == in && m.transport >= before && strings.HasPrefix(m.text, "{handshake:[0],ok:")
	})
	return sc
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// After a drop the client resumes the same session: state stored before the
// drop is there after it, and the session id is unchanged.
func testResumeSameSession(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	id := c.Session().ID()
	c.call("setState", "token", "TOKEN")
	fx.breakAndResume(c)
	if got := c.Session().ID(); got != id {
		e.t.Errorf("session id changed across the resume: %q -> %q", id, got)
	}
	if got := c.call("getState", "token"); !sameValue(got, []any{"TOKEN"}) {
		e.t.Errorf("session state after the resume = %v, want [TOKEN]", got)
	}
	resumeMsg := c.log.filter(func(m wireMsg) bool { return m.dir == out && m.transport == 1 })[0]
	if want := fmt.Sprintf("{handshake:[0,'app'],session:['%s',0]}", id); resumeMsg.text != want {
		e.t.Errorf("resume handshake = %s, want %s", resumeMsg.text, want)
	}
}

// The server answers a resume with its receivedCount: the absolute id of
// the last call, event, inspect or ping it got.
func testResumeHandshakeWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	id := rc.handshake(appName)
	rc.send("{call:[1,'iface'],echo:[]}")
	rc.expect("{callback:[1],ok:[]}")
	rc.send("{event:[2,'iface'],hello:[]}")
	await(e, fx.events, "the event")
	rc.alive(3)
	rc.brk()
	await(e, fx.gone, "OnDisconnect after the break")
	rc2 := e.raw(fx.addr)
	rc2.send(fmt.Sprintf("{handshake:[0,'app'],session:['%s',0]}", id))
	rc2.expect("{handshake:[0],ok:3}")
	rc2.alive(4)
}

// Messages the client sent that were lost in the drop are resent after the
// resume, in order and exactly once.
func testResumeBufferedResent(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.call("echo", "before")
	c.d.last().dropOut.Store(true) // from now on, what the client sends is lost
	for i := 0; i < 5; i++ {
		if err := c.Emit("iface", "tick", i); err != nil {
			e.fatalf("Emit: %v", err)
		}
	}
	call := c.callAsync(false, "echo", "lost call")
	c.log.waitFor(e, "the lost call to be sent", func(m wireMsg) bool { return m.dropped && strings.Contains(m.text, "lost call") })
	fx.breakAndResume(c)
	for i := 0; i < 5; i++ {
		ev := await(e, fx.events, fmt.Sprintf("resent event %d", i))
		if !sameValue(ev.args, []any{i}) {
			e.t.Errorf("resent event %d arrived as %v", i, ev.args)
		}
	}
	if r := await(e, call, "the resent call"); r.err != nil || !sameValue(r.res, []any{"lost call"}) {
		e.t.Errorf("resent call: %v", r)
	}
	c.call("echo", "barrier")
	select {
	case ev := <-fx.events:
		e.t.Errorf("an event was delivered twice: %v", ev.args)
	default:
	}
	if n := fx.executions("echo"); n != 3 {
		e.t.Errorf("echo executed %d times, want 3 (before, the resent call, barrier)", n)
	}
}

// The server resends what the client reports not having received, with the
// original ids, after its resume answer.
func testResumeBufferedResentByServer(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	id := rc.handshake(appName)
	sc := fx.serverConn()
	for i := 1; i <= 3; i++ {
		if err := sc.Emit("iface", "tick", i); err != nil {
			e.fatalf("server Emit: %v", err)
		}
		rc.expect(fmt.Sprintf("{event:[-%d,'iface'],tick:[%d]}", i, i))
	}
	rc.brk()
	await(e, fx.gone, "OnDisconnect after the break")
	// Pretend events -2 and -3 were lost in the drop.
	rc2 := e.raw(fx.addr)
	rc2.send(fmt.Sprintf("{handshake:[0,'app'],session:['%s',1]}", id))
	rc2.expect("{handshake:[0],ok:0}")
	rc2.expect("{event:[-2,'iface'],tick:[2]}")
	rc2.expect("{event:[-3,'iface'],tick:[3]}")
	rc2.alive(1)
}

// Many events both ways with an abrupt break in the middle: after the
// resume each side has every event exactly once, in order.
func testResumeNothingLost(e *env) {
	const n = 200
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	got := make(chan float64, 2*n)
	proxy.On("tick", func(args []any) {
		if len(args) == 1 {
			f, _ := args[0].(float64)
			got <- f
		}
	})
	sc := fx.serverConn()
	c.rec.allow(nil)
	var wg sync.WaitGroup
	wg.Add(2)
	errs := make(chan error, 2)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := c.Emit("iface", "tick", i); err != nil {
				errs <- fmt.Errorf("client Emit %d: %w", i, err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := sc.Emit("iface", "tick", i); err != nil {
				errs <- fmt.Errorf("server Emit %d: %w", i, err)
				return
			}
		}
	}()
	c.log.waitFor(e, "some events on the wire", func(m wireMsg) bool { return strings.HasPrefix(m.text, "{event:") })
	c.brk()
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Errorf("emitting during the break: %v", err)
	}
	await(e, fx.resumed, "the resume")
	wire := func() string {
		var b strings.Builder
		all, _ := c.log.snapshot()
		for _, m := range all {
			if strings.HasPrefix(m.text, "{handshake:") || strings.HasPrefix(m.text, "{callback:") {
				b.WriteString("  " + m.String() + "\n")
			}
		}
		return b.String()
	}
	for i := 0; i < n; i++ {
		ev := await(e, fx.events, fmt.Sprintf("client event %d at the server", i))
		if !sameValue(ev.args, []any{i}) {
			e.fatalf("client event %d arrived as %v (duplicated or reordered); the client's wire, handshakes and callbacks:\n%s",
				i, ev.args, wire())
		}
		if v := await(e, got, fmt.Sprintf("server event %d at the client", i)); v != float64(i) {
			e.fatalf("server event %d arrived as %v (duplicated or reordered); handshakes and callbacks:\n%s", i, v, wire())
		}
	}
	c.call("echo")
	if len(fx.events) != 0 || len(got) != 0 {
		e.t.Errorf("duplicate events: %d at the server, %d at the client", len(fx.events), len(got))
	}
}

// Events the server emits on a session whose client is disconnected are
// delivered when the client resumes.
func testResumeServerEmitsWhileDisconnected(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	got := make(chan []any, 16)
	proxy.On("news", func(args []any) { got <- args })
	sc := fx.serverConn()
	c.d.hold() // the redial waits until the server has emitted
	c.rec.allow(nil)
	c.brk()
	await(e, fx.gone, "OnDisconnect after the break")
	for i := 0; i < 3; i++ {
		if err := sc.Emit("iface", "news", i); err != nil {
			e.t.Errorf("server Emit on a disconnected session: %v", err)
		}
	}
	c.d.unhold()
	await(e, fx.resumed, "the resume")
	for i := 0; i < 3; i++ {
		if args := await(e, got, "an event emitted while disconnected"); !sameValue(args, []any{i}) {
			e.t.Errorf("event %d arrived as %v", i, args)
		}
	}
}

// A plain call whose message was lost in the drop is resent and answered
// (the server never saw it, so nothing is lost).
func testResumePendingCallResent(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.d.last().dropOut.Store(true)
	call := c.callAsync(false, "count", "x")
	c.log.waitFor(e, "the call to be sent", func(m wireMsg) bool { return m.dropped && strings.Contains(m.text, "count:") })
	fx.breakAndResume(c)
	r := await(e, call, "the resent call")
	if r.err != nil || !sameValue(r.res, []any{1}) {
		e.t.Errorf("resent call: %v, want [1]", r)
	}
}

// After a resume the client's ids continue where they were: the resume
// handshake is 0 again, the next call takes the next id.
func testResumeIDsContinue(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.call("echo")                                   // 1
	if err := c.Emit("iface", "hello"); err != nil { // 2
		e.fatalf("Emit: %v", err)
	}
	await(e, fx.events, "the event")
	sc := fx.serverConn()
	if err := sc.Emit("iface", "tick"); err != nil { // server -1
		e.fatalf("server Emit: %v", err)
	}
	c.log.waitFor(e, "the server's event", func(m wireMsg) bool { return m.dir == in && strings.HasPrefix(m.text, "{event:[-1,") })
	fx.breakAndResume(c)
	c.call("echo") // 3
	var second []string
	for _, m := range c.log.filter(func(m wireMsg) bool { return m.transport == 1 }) {
		second = append(second, m.dir.String()+" "+m.text)
	}
	id := c.Session().ID()
	want := []string{
		fmt.Sprintf("out {handshake:[0,'app'],session:['%s',1]}", id),
		"in {handshake:[0],ok:2}",
		"out {call:[3,'iface'],echo:[]}",
		"in {callback:[3],ok:[]}",
	}
	if strings.Join(second, "\n") != strings.Join(want, "\n") {
		e.t.Errorf("after the resume:\n got %q\nwant %q", second, want)
	}
}

// After a resume the server's ids continue too, so that a second resume
// does not redeliver an event (the reference restarts them).
func testResumeServerIDsContinue(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	id := rc.handshake(appName)
	sc := fx.serverConn()
	if err := sc.Emit("iface", "tick", 1); err != nil {
		e.fatalf("server Emit: %v", err)
	}
	rc.expect("{event:[-1,'iface'],tick:[1]}")
	rc.brk()
	await(e, fx.gone, "OnDisconnect")

	rc2 := e.raw(fx.addr)
	rc2.send(fmt.Sprintf("{handshake:[0,'app'],session:['%s',1]}", id))
	rc2.expect("{handshake:[0],ok:0}")
	sc2 := await(e, fx.resumed, "OnReconnect")
	if err := sc2.Emit("iface", "tick", 2); err != nil {
		e.fatalf("server Emit after the resume: %v", err)
	}
	rc2.expect("{event:[-2,'iface'],tick:[2]}")
	rc2.brk()
	await(e, fx.gone, "OnDisconnect")

	rc3 := e.raw(fx.addr)
	rc3.send(fmt.Sprintf("{handshake:[0,'app'],session:['%s',2]}", id))
	rc3.expect("{handshake:[0],ok:0}")
	rc3.alive(1) // no event may come before the pong: both were received
	sc3 := await(e, fx.resumed, "OnReconnect")
	if err := sc3.Emit("iface", "tick", 3); err != nil {
		e.fatalf("server Emit after the second resume: %v", err)
	}
	rc3.expect("{event:[-3,'iface'],tick:[3]}")
}

// A call made with resend whose message was lost in the drop is executed
// exactly once after the resume: resent from the buffer, not also reissued.
func testResumeResendExecutedOnce(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.d.last().dropOut.Store(true)
	call := c.callAsync(true, "count", "once")
	c.log.waitFor(e, "the call to be sent", func(m wireMsg) bool { return m.dropped && strings.Contains(m.text, "count:") })
	fx.breakAndResume(c)
	r := await(e, call, "the call with resend")
	if r.err != nil || !sameValue(r.res, []any{1}) {
		e.t.Errorf("call with resend: %v, want [1]", r)
	}
	c.call("echo") // barrier
	if n := fx.executions("count"); n != 1 {
		e.t.Errorf("the call with resend executed %d times, want 1", n)
	}
}

// A call made with resend whose callback was lost (the server ran it) is
// issued again after the resume with its original arguments (the
// reference resends it with the callback's arguments instead).
func testResumeResendOriginalArgs(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	call := c.callAsync(true, "block", 7)
	if n := await(e, fx.blocked, "the first execution"); n != 7 {
		e.fatalf("first execution got %d", n)
	}
	fx.breakAndResume(c)
	if n := await(e, fx.blocked, "the call to be issued again after the resume"); n != 7 {
		e.t.Errorf("the call was issued again with argument %d, want the original 7", n)
	}
	fx.release <- struct{}{}
	fx.release <- struct{}{}
	if r := await(e, call, "the call with resend"); r.err != nil || !sameValue(r.res, []any{7}) {
		e.t.Errorf("call with resend: %v, want [7]", r)
	}
}

// A callback lost in the drop is reported as -1 even when replies to later
// calls arrived before the drop (the reference then never reports it).
func testResumeCallbackLostReported(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	slow := c.callAsync(false, "block", 1) // id 1: the server runs it but answers after the drop
	await(e, fx.blocked, "block(1) to start")
	c.call("echo", "later") // id 2: answered before the drop
	fx.breakAndResume(c)
	r := await(e, slow, "the lost callback to be reported")
	if !errors.Is(r.err, jstp.ErrCallbackLost) {
		e.t.Errorf("call whose callback was lost: %v, want code -1 (ErrCallbackLost)", r)
	}
	var re *jstp.RemoteError
	if errors.As(r.err, &re) && re.Code != jstp.CodeCallbackLost {
		e.t.Errorf("RemoteError code %d, want -1", re.Code)
	}
	fx.release <- struct{}{}
	c.call("echo", "after") // a late callback for id 1, if any, is harmless
}

// A session survives several drops; ids keep counting.
func testResumeTwice(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	for round := 1; round <= 3; round++ {
		c.call("setState", "round", fmt.Sprint(round))
		fx.breakAndResume(c)
		if got := c.call("getState", "round"); !sameValue(got, []any{fmt.Sprint(round)}) {
			e.t.Errorf("round %d: state = %v", round, got)
		}
	}
	if n := c.d.count(); n != 4 {
		e.t.Errorf("dialed %d times, want 4", n)
	}
}

// A transport that drops right after a successful resume is resumed again:
// the client never ends up neither connected, nor reconnecting, nor done.
// The client's log hook breaks the new transport at the moment the engine
// reports the successful reconnection, and waits until the engine has
// processed the close, so the drop lands inside the reconnection loop's
// final steps.
func testResumeDropRightAfterResume(e *env) {
	fx := e.newFixture()
	var (
		self  *client
		once  sync.Once
		ready = make(chan struct{})
	)
	hook := func(ev jstp.LogEvent) {
		if ev.Kind != jstp.LogReconnect || ev.Err != nil {
			return
		}
		once.Do(func() {
			<-ready
			tp := self.d.last()
			e.breakTransport(tp)
			select {
			case <-tp.closedDone:
			case <-time.After(waitTimeout):
			}
		})
	}
	c := e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.Hook = hook })
	self = c
	close(ready)
	c.rec.allow(nil)
	c.brk()
	await(e, fx.resumed, "the first resume")
	select {
	case <-fx.resumed:
	case <-time.After(waitTimeout):
		e.fatalf("the transport dropped right after a successful resume and the client did not reconnect "+
			"(reconnector consulted %d times, %d dials, connected: %v, done: %v)",
			len(c.rec.asked), c.d.count(), c.Connected(), isDone(c.Done()))
	}
	if got := c.call("echo", "ok"); !sameValue(got, []any{"ok"}) {
		e.t.Errorf("echo after two resumes = %v", got)
	}
}

// The client gives up on a transport the server still reads from: messages
// it sent on the old transport are still being processed by the server
// when the client resumes on a new one. Each must be processed exactly
// once and the handlers must see them in order: the server must retire the
// old connection before it answers the resume with its receivedCount, and
// events resent on the new connection must not overtake those the old one
// has yet to hand to the application. The server's handler of the first
// event is held until shortly after the resume handshake reaches it.
//
// With arrive < 0 everything sent on the old transport reaches the server
// (LateMessagesOnOldTransport); otherwise only the first arrive events do
// and the client must resend the rest on the new connection
// (HandlersInOrderAcrossResume).
func testResumeLateMessages(e *env, arrive int) {
	const n = 300
	handshakes := make(chan struct{}, 16)
	fx := e.newFixture(func(o *jstp.ServerOptions) {
		o.Hook = func(ev jstp.LogEvent) {
			if ev.Kind == jstp.LogHandshakeRequest {
				handshakes <- struct{}{}
			}
		}
	})
	fx.tickGate = make(chan struct{})
	c := e.connect(fx.addr, appName)
	await(e, handshakes, "the first handshake")
	old := c.d.last()
	e.t.Cleanup(func() { old.inner.Close() })
	old.hold() // what the client sends now stays in the "network"
	for i := 0; i < n; i++ {
		if err := c.Emit("iface", "tick", i); err != nil {
			e.fatalf("Emit: %v", err)
		}
	}
	var once sync.Once
	c.d.mu.Lock()
	c.d.beforeSend = func(t *tap, msg []byte) {
		if t != old && strings.HasPrefix(string(msg), "{handshake:") {
			// The old transport's data reaches the server before the resume.
			once.Do(func() { old.flushSome(arrive) })
		}
	}
	c.d.mu.Unlock()
	c.rec.allow(nil)
	old.fakeClose()
	await(e, handshakes, "the resume handshake at the server")
	// No event tells that the server is inside the resume: give it a moment.
	<-time.After(30 * time.Millisecond)
	close(fx.tickGate)
	await(e, fx.resumed, "the resume")
	for i := 0; i < n; i++ {
		ev := await(e, fx.events, fmt.Sprintf("event %d at the server", i))
		if !sameValue(ev.args, []any{i}) {
			all, _ := c.log.snapshot()
			var hs []string
			for _, m := range all {
				if strings.HasPrefix(m.text, "{handshake:") {
					hs = append(hs, m.String())
				}
			}
			e.fatalf("event %d arrived as %v: duplicated or reordered (handshakes: %v)", i, ev.args, hs)
		}
	}
	c.call("echo") // barrier
	if len(fx.events) != 0 {
		e.t.Errorf("%d events were delivered twice", len(fx.events))
	}
}

// recordingStorage is a SessionStorageProvider that keeps sessions as
// exported strings (as an external store would) and reports each Set.
type recordingStorage struct {
	mu       sync.Mutex
	data     map[string]string
	sets     chan string
	gets     chan string
	inactive chan string
}

func (s *recordingStorage) Get(_ context.Context, id string) (*jstp.Session, error) {
	select {
	case s.gets <- id:
	default:
	}
	s.mu.Lock()
	text, ok := s.data[id]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return jstp.ImportSession(text)
}

func (s *recordingStorage) Set(_ context.Context, id string, sess *jstp.Session) error {
	s.mu.Lock()
	s.data[id] = sess.String()
	s.mu.Unlock()
	select {
	case s.sets <- id:
	default:
	}
	return nil
}

func (s *recordingStorage) SetInactive(_ context.Context, id string) error {
	select {
	case s.inactive <- id:
	default:
	}
	return nil
}

// After the client expiration the session lives in the storage provider
// (exported to a string and imported back) and can still be resumed.
func testResumeFromStorage(e *env) {
	store := &recordingStorage{data: map[string]string{}, sets: make(chan string, 16), gets: make(chan string, 16), inactive: make(chan string, 16)}
	fx := e.newFixture(func(o *jstp.ServerOptions) {
		o.SessionStorage = store
		o.ClientExpiration = 20 * time.Millisecond
	})
	c := e.connect(fx.addr, appName)
	c.call("setState", "k", "stored")
	id := c.Session().ID()
	c.d.hold()
	c.rec.allow(nil)
	c.brk()
	if got := await(e, store.sets, "the session to be stored"); got != id {
		e.t.Errorf("stored session %q, want %q", got, id)
	}
	await(e, store.inactive, "SetInactive")
	// Past the expiration, the server must go to the storage for it. There
	// is no event for "the expiration passed": wait it out.
	e.eventually("Clients() to drop the connection", func() bool { return len(fx.srv.Clients()) == 0 })
	<-time.After(3 * 20 * time.Millisecond)
	c.d.unhold()
	await(e, fx.resumed, "the resume from storage")
	if got := await(e, store.gets, "the server to read the session from storage"); got != id {
		e.t.Errorf("storage Get(%q), want %q", got, id)
	}
	if got := c.call("getState", "k"); !sameValue(got, []any{"stored"}) {
		e.t.Errorf("state after resuming from storage = %v, want [stored]", got)
	}
}

// The server reports a resumed session with OnReconnect (not OnConnect),
// and lists it in Clients.
func testResumeServerNotifications(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	fx.serverConn()
	sc := fx.breakAndResume(c)
	select {
	case extra := <-fx.conns:
		e.t.Errorf("OnConnect called for a resumed session (%v)", extra.Session().ID())
	default:
	}
	if sc.Session().ID() != c.Session().ID() {
		e.t.Errorf("OnReconnect connection has session %q, want %q", sc.Session().ID(), c.Session().ID())
	}
	e.eventually("Clients() lists the resumed connection", func() bool {
		for _, cc := range fx.srv.Clients() {
			if cc.Session().ID() == c.Session().ID() {
				return true
			}
		}
		return false
	})
}
