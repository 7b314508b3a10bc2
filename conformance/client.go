package conformance

import (
	"errors"
	"strings"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Reconnector",
		testCase{"NotAfterFailedDial", testReconnectorNotAfterFailedDial},
		testCase{"NotAfterFailedHandshake", testReconnectorNotAfterFailedHandshake},
		testCase{"NotAfterIntentionalClose", testReconnectorNotAfterIntentionalClose},
		testCase{"NotAfterCloseDuringRedial", testReconnectorNotAfterCloseDuringRedial},
		testCase{"AfterDrop", testReconnectorAfterDrop},
		testCase{"Custom", testReconnectorCustom},
		testCase{"RetriesAfterFailure", testReconnectorRetries},
		testCase{"GiveUp", testReconnectorGiveUp},
		testCase{"ManualReconnect", testReconnectorManual},
		testCase{"Default", testReconnectorDefault},
	)
	register("Client",
		testCase{"DefaultApplication", testClientDefaultApplication},
		testCase{"RemoteAddr", testClientRemoteAddr},
		testCase{"Logging", testClientLogging},
	)
}

// A client whose first dial fails never consults its reconnector.
func testReconnectorNotAfterFailedDial(e *env) {
	fx := e.newFixture()
	d := e.dialer(fx.addr, nil)
	d.fail = 1
	rec := newManualReconnector(e)
	rec.allow(nil)
	conn, err := jstp.Connect(e.ctx, appName, &jstp.Client{Reconnector: rec}, d.Dial)
	if err == nil {
		conn.Close()
		e.fatalf("Connect succeeded over a failing dialer")
	}
	quiet(e, rec.asked, "reconnector consulted after a failed first dial")
	if n := d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1", n)
	}
}

// A client whose first handshake fails never consults its reconnector.
func testReconnectorNotAfterFailedHandshake(e *env) {
	fx := e.newFixture()
	c, err := e.tryConnect(fx.addr, appName, withLogin(goodUser, "wrong"), func(cl *jstp.Client) {
		cl.Reconnector.(*manualReconnector).allow(nil)
	})
	if err == nil {
		e.fatalf("Connect succeeded with bad credentials")
	}
	quiet(e, c.rec.asked, "reconnector consulted after a failed first handshake")
	if n := c.d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1", n)
	}
}

// An intentional close never reconnects.
func testReconnectorNotAfterIntentionalClose(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.rec.allow(nil)
	c.Close()
	await(e, c.Done(), "Done() after Close")
	quiet(e, c.rec.asked, "reconnector consulted after an intentional close")
	if n := c.d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1", n)
	}
	if _, err := c.Call(e.ctx, "iface", "echo"); !errors.Is(err, jstp.ErrClosed) {
		e.t.Errorf("Call after Close: err = %v, want ErrClosed", err)
	}
}

// Closing while a redial is under way stops it: the dial's context ends,
// and no further attempt is made.
func testReconnectorNotAfterCloseDuringRedial(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.d.hold()
	c.rec.allow(nil)
	c.brk()
	await(e, c.rec.asked, "the reconnector to be consulted")
	e.eventually("the redial to start", func() bool { return c.d.count() == 2 })
	c.Close()
	await(e, c.Done(), "Done() after Close during a redial")
	drain(c.d.dialed)
	c.d.unhold()
	quiet(e, c.d.dialed, "a dial after Close")
	if n := c.d.count(); n != 2 {
		e.t.Errorf("dialed %d times, want 2", n)
	}
}

// An unintended close consults the reconnector, which redials, and the
// session resumes.
func testReconnectorAfterDrop(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.rec.allow(nil)
	c.brk()
	if attempt := await(e, c.rec.asked, "the reconnector to be consulted"); attempt != 0 {
		e.t.Errorf("first consultation reported attempt %d, want 0", attempt)
	}
	await(e, fx.resumed, "the resume")
	c.call("echo")
}

// A custom reconnector may redial over another dialer (another address or
// transport); the session resumes there.
func testReconnectorCustom(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.call("setState", "k", "v")
	alt := e.dialer(fx.addr, c.log)
	c.rec.allow(alt.Dial)
	c.brk()
	await(e, fx.resumed, "the resume over the other dialer")
	if got := c.call("getState", "k"); !sameValue(got, []any{"v"}) {
		e.t.Errorf("state after the custom redial = %v", got)
	}
	if n := alt.count(); n != 1 {
		e.t.Errorf("custom dialer used %d times, want 1", n)
	}
	if n := c.d.count(); n != 1 {
		e.t.Errorf("original dialer used %d times, want 1", n)
	}
}

// Failed redials consult the reconnector again, with a growing attempt
// count, until one succeeds.
func testReconnectorRetries(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.d.mu.Lock()
	c.d.fail = 2
	c.d.mu.Unlock()
	c.rec.allow(nil)
	c.brk()
	for want := 0; want < 3; want++ {
		if got := await(e, c.rec.asked, "the reconnector"); got != want {
			e.t.Errorf("consultation %d reported attempt %d", want, got)
		}
	}
	await(e, fx.resumed, "the resume after two failed redials")
	c.call("echo")
	if n := c.d.count(); n != 4 {
		e.t.Errorf("dialed %d times, want 4 (connect, 2 failures, success)", n)
	}
	// A success resets the count: the next drop starts at attempt 0 again.
	drain(c.rec.asked)
	c.brk()
	if got := await(e, c.rec.asked, "the reconnector after the second drop"); got != 0 {
		e.t.Errorf("after a successful reconnect the next drop starts at attempt %d, want 0", got)
	}
	await(e, fx.resumed, "the second resume")
}

// A reconnector that gives up ends the connection: Done closes and calls
// fail.
func testReconnectorGiveUp(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.brk()
	await(e, c.rec.asked, "the reconnector")
	await(e, c.Done(), "Done() after the reconnector gave up")
	if _, err := c.Call(e.ctx, "iface", "echo"); err == nil {
		e.t.Errorf("Call after the reconnector gave up succeeded")
	}
}

// Reconnect moves a live connection to a new transport, keeping the
// session.
func testReconnectorManual(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	c.call("setState", "k", "manual")
	id := c.Session().ID()
	if err := c.Reconnect(e.ctx, c.d.Dial); err != nil {
		e.fatalf("Reconnect: %v", err)
	}
	if c.Session().ID() != id {
		e.t.Errorf("session changed on Reconnect")
	}
	if got := c.call("getState", "k"); !sameValue(got, []any{"manual"}) {
		e.t.Errorf("state after Reconnect = %v", got)
	}
	last := c.log.filter(func(m wireMsg) bool { return m.transport == 1 && m.dir == out })
	if len(last) == 0 || !strings.HasPrefix(last[0].text, "{handshake:[0,'app'],session:['"+id+"',") {
		e.t.Errorf("Reconnect did not resume the session over the new transport: %v", last)
	}
}

// The default reconnector follows the reference's schedule: 1 s plus 0-1 s
// of jitter, doubling after each failure up to 32 s, never giving up. It is
// checked by asking it, not by waiting for it.
func testReconnectorDefault(e *env) {
	r := jstp.DefaultReconnector()
	if r == nil {
		e.fatalf("DefaultReconnector() is nil")
	}
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {4, 16 * time.Second}, {5, 32 * time.Second}, {9, 32 * time.Second}, {60, 32 * time.Second}} {
		for i := 0; i < 20; i++ {
			delay, dial, ok := r.NextAttempt(nil, tc.attempt, errors.New("lost"))
			if !ok || dial != nil {
				e.fatalf("attempt %d: ok=%v dial=%v; the default reconnector never gives up and keeps the dialer", tc.attempt, ok, dial != nil)
			}
			if delay < tc.base || delay > tc.base+time.Second+time.Millisecond {
				e.fatalf("attempt %d: delay %v, want %v plus 0-1 s", tc.attempt, delay, tc.base)
			}
		}
	}
}

// The default client application is jstp@1.0.0 with no interfaces.
func testClientDefaultApplication(e *env) {
	fx := e.newFixture()
	e.connect(fx.addr, appName)
	sc := fx.serverConn()
	_, err := sc.Call(e.ctx, "anything", "x")
	if !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("calling the default client application: err = %v, want 12", err)
	}
}

// Both sides report a real remote address (reference issue #313): never
// nil, and for network transports a host with a port.
func testClientRemoteAddr(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	sc := fx.serverConn()
	for side, a := range map[string]interface{ String() string }{"client": c.RemoteAddr(), "server": sc.RemoteAddr()} {
		if a == nil || a.String() == "" {
			e.t.Errorf("%s-side RemoteAddr() = %v", side, a)
		}
	}
	checkAddr(e, "client-side", c.RemoteAddr())
	checkAddr(e, "server-side", sc.RemoteAddr())
}

// Log events reach the hook: outgoing and incoming messages, the call, the
// handshake.
func testClientLogging(e *env) {
	events := make(chan jstp.LogEvent, 1024)
	hook := func(ev jstp.LogEvent) {
		select {
		case events <- ev:
		default:
		}
	}
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.Hook = hook })
	c := e.connect(fx.addr, appName)
	c.call("echo", "logged")
	seen := map[jstp.LogKind]bool{}
	deadline := time.After(waitTimeout)
	for !(seen[jstp.LogIncoming] && seen[jstp.LogOutgoing] && seen[jstp.LogCall] && seen[jstp.LogHandshakeRequest]) {
		select {
		case ev := <-events:
			seen[ev.Kind] = true
		case <-deadline:
			e.fatalf("log kinds seen by the server hook: %v", seen)
		}
	}
}
