package conformance

import (
	"context"
	"errors"
	"regexp"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Handshake",
		testCase{"Anonymous", testHandshakeAnonymous},
		testCase{"AnonymousWire", testHandshakeAnonymousWire},
		testCase{"Login", testHandshakeLogin},
		testCase{"LoginWire", testHandshakeLoginWire},
		testCase{"BadLogin", testHandshakeBadLogin},
		testCase{"BadLoginWire", testHandshakeBadLoginWire},
		testCase{"LoginWithoutAuthPolicy", testHandshakeLoginWithoutPolicy},
		testCase{"AuthCustomError", testHandshakeAuthCustomError},
		testCase{"AuthPlainError", testHandshakeAuthPlainError},
		testCase{"UnknownApp", testHandshakeUnknownApp},
		testCase{"UnknownAppWire", testHandshakeUnknownAppWire},
		testCase{"ResumeUnknownSession", testHandshakeResumeUnknownSession},
		testCase{"NoResponse", testHandshakeNoResponse},
		testCase{"Timeout", testHandshakeTimeout},
		testCase{"NoTimeoutAfterHandshake", testHandshakeNoTimeoutAfterHandshake},
		testCase{"DefaultTimeout", testHandshakeDefaultTimeout},
		testCase{"NotAServer", testHandshakeNotAServer},
		testCase{"ServerConnectionSession", testHandshakeServerSide},
	)
}

var uuidV4RE = regexp.MustCompile("^" + uuidV4 + "$")

// An anonymous handshake creates a session with a UUID v4 id and no user.
func testHandshakeAnonymous(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	s := c.Session()
	if s == nil {
		e.fatalf("client Session() is nil after a successful handshake")
	}
	if !uuidV4RE.MatchString(s.ID()) {
		e.t.Errorf("session id %q is not a UUID v4", s.ID())
	}
	if s.Username() != "" {
		e.t.Errorf("anonymous session username = %q, want empty", s.Username())
	}
	if got := c.call("whoami"); len(got) != 1 || got[0] != "" {
		e.t.Errorf("server-side username of an anonymous session = %v, want ['']", got)
	}
	// The client's first message is its handshake, id 0, naming the app.
	first := c.log.waitFor(e, "the client's handshake", func(m wireMsg) bool { return m.dir == out })
	if first.text != "{handshake:[0,'app']}" {
		e.t.Errorf("client handshake = %s, want {handshake:[0,'app']}", first.text)
	}
}

// The server answers an anonymous handshake with {handshake:[0],ok:'<uuid>'}.
func testHandshakeAnonymousWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	id := rc.handshake(appName)
	srvConn := fx.serverConn()
	if got := srvConn.Session().ID(); got != id {
		e.t.Errorf("server-side session id %q, wire said %q", got, id)
	}
	rc.alive(1)
}

// A login handshake with good credentials creates a session for the user,
// visible on both sides.
func testHandshakeLogin(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName, withLogin(goodUser, goodPassword))
	if got := c.Session().Username(); got != goodUser {
		e.t.Errorf("client session username = %q, want %q", got, goodUser)
	}
	if got := c.call("whoami"); len(got) != 1 || got[0] != goodUser {
		e.t.Errorf("server-side username = %v, want [%q]", got, goodUser)
	}
	if got := fx.serverConn().Session().Username(); got != goodUser {
		e.t.Errorf("OnConnect connection's session username = %q, want %q", got, goodUser)
	}
	first := c.log.waitFor(e, "the client's handshake", func(m wireMsg) bool { return m.dir == out })
	if want := "{handshake:[0,'app'],login:['user','secret']}"; first.text != want {
		e.t.Errorf("client login handshake = %s, want %s", first.text, want)
	}
}

// {handshake:[0,'app'],login:[user,pass]} is answered with a session id.
func testHandshakeLoginWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],login:['user','secret']}")
	rc.expectMatch(`\{handshake:\[0\],ok:'` + uuidV4 + `'\}`)
	rc.alive(1)
}

// Bad credentials fail the handshake with 11.
func testHandshakeBadLogin(e *env) {
	fx := e.newFixture()
	c, err := e.tryConnect(fx.addr, appName, withLogin(goodUser, "wrong"))
	if !errors.Is(err, jstp.ErrAuthFailed) {
		e.fatalf("Connect with a wrong password: err = %v, want code 11 (ErrAuthFailed)", err)
	}
	var re *jstp.RemoteError
	if !errors.As(err, &re) || re.Code != jstp.CodeAuthFailed {
		e.t.Errorf("error %v is not a *RemoteError with code 11", err)
	}
	drain(c.d.dialed)
	quiet(e, c.d.dialed, "redial after a failed handshake")
	if n := c.d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1 (no reconnect after a failed handshake)", n)
	}
}

// The server answers bad credentials with {handshake:[0],error:[11]} and
// closes the connection.
func testHandshakeBadLoginWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],login:['user','wrong']}")
	rc.expect("{handshake:[0],error:[11]}")
	rc.expectClosed("after a failed login")
}

// A server without an auth policy refuses every login with 11.
func testHandshakeLoginWithoutPolicy(e *env) {
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.AuthPolicy = nil })
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],login:['user','secret']}")
	rc.expect("{handshake:[0],error:[11]}")
	rc.expectClosed("after a login to a server without auth policy")
	// Anonymous still works.
	e.connect(fx.addr, appName)
}

// An auth policy's own RemoteError travels as [code, message].
func testHandshakeAuthCustomError(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],login:['banned','x']}")
	rc.expect("{handshake:[0],error:[42,'banned']}")
	rc.expectClosed("after a refused login")
	_, err := e.tryConnect(fx.addr, appName, withLogin("banned", "x"))
	var re *jstp.RemoteError
	if !errors.As(err, &re) || re.Code != 42 || re.Message != "banned" {
		e.t.Errorf("Connect as banned: err = %#v, want *RemoteError{Code: 42, Message: banned}", err)
	}
}

// Any other auth policy error is reported as 11 (its text is not leaked).
func testHandshakeAuthPlainError(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],login:['plain','x']}")
	rc.expect("{handshake:[0],error:[11]}")
	rc.expectClosed("after a refused login")
}

// An unknown application fails the handshake with 10.
func testHandshakeUnknownApp(e *env) {
	fx := e.newFixture()
	c, err := e.tryConnect(fx.addr, "nope")
	if !errors.Is(err, jstp.ErrAppNotFound) {
		e.fatalf("Connect to an unknown app: err = %v, want code 10 (ErrAppNotFound)", err)
	}
	quiet(e, c.rec.asked, "reconnector consulted after a failed first handshake")
	if n := c.d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1", n)
	}
}

// The server answers an unknown application with {handshake:[0],error:[10]}
// and closes.
func testHandshakeUnknownAppWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'nope']}")
	rc.expect("{handshake:[0],error:[10]}")
	rc.expectClosed("after an unknown application")
}

// Resuming a session the server does not know fails with 11.
func testHandshakeResumeUnknownSession(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{handshake:[0,'app'],session:['00000000-0000-4000-8000-000000000000',0]}")
	rc.expect("{handshake:[0],error:[11]}")
	rc.expectClosed("after resuming an unknown session")
}

// A connection that closes before the handshake answer fails Connect with
// -2 (ErrNoHandshakeResponse), and is never reconnected.
func testHandshakeNoResponse(e *env) {
	fx := e.newFixture()
	log := newWireLog()
	d := e.dialer(fx.addr, log)
	d.dropIn = true // the server's answer never reaches the client
	rec := newManualReconnector(e)
	rec.allow(nil) // even an eager reconnector must not be used before a first handshake
	done := make(chan error, 1)
	go func() {
		ctx, cancel := e.waitCtx()
		defer cancel()
		conn, err := jstp.Connect(ctx, appName, &jstp.Client{Reconnector: rec}, d.Dial)
		if conn != nil {
			conn.Close()
		}
		done <- err
	}()
	log.waitFor(e, "the client's handshake", func(m wireMsg) bool { return m.dir == out })
	e.breakTransport(d.last())
	err := await(e, done, "Connect to fail after the connection broke")
	if !errors.Is(err, jstp.ErrNoHandshakeResponse) {
		e.t.Errorf("Connect over a connection broken before the answer: err = %v, want code -2", err)
	}
	quiet(e, rec.asked, "reconnector consulted before a first successful handshake")
	if n := d.count(); n != 1 {
		e.t.Errorf("dialed %d times, want 1", n)
	}
}

// The server closes a connection that does not complete its handshake in
// time, without answering.
func testHandshakeTimeout(e *env) {
	const timeout = 100 * time.Millisecond
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.HandshakeTimeout = timeout })
	start := time.Now()
	rc := e.raw(fx.addr)
	rc.expectClosed("a connection without handshake")
	if el := time.Since(start); el < timeout*8/10 {
		e.t.Errorf("closed after %v, before the %v handshake timeout", el, timeout)
	}
}

// The handshake timeout does not close a connection that completed its
// handshake.
func testHandshakeNoTimeoutAfterHandshake(e *env) {
	const timeout = 50 * time.Millisecond
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.HandshakeTimeout = timeout })
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	// There is no event for "the timer did not fire": wait past it.
	select {
	case <-rc.closed:
		e.fatalf("the server closed a connection that completed its handshake")
	case <-time.After(4 * timeout):
	}
	rc.alive(1)
}

// The default handshake timeout is the reference's 3 s, and a client
// expiration of 1 h.
func testHandshakeDefaultTimeout(e *env) {
	if jstp.DefaultHandshakeTimeout != 3*time.Second {
		e.t.Errorf("DefaultHandshakeTimeout = %v, want 3s", jstp.DefaultHandshakeTimeout)
	}
	if jstp.DefaultClientExpiration != time.Hour {
		e.t.Errorf("DefaultClientExpiration = %v, want 1h", jstp.DefaultClientExpiration)
	}
}

// A client that receives a handshake request instead of an answer says it
// is not a server (15). The peer here is scripted over the in-memory pipe:
// this is engine behaviour, independent of the transport.
func testHandshakeNotAServer(e *env) {
	a, b := jstp.Pipe()
	peer := e.newRawConn(b)
	b.Start(peer)
	e.t.Cleanup(func() { b.Close() })
	done := make(chan error, 1)
	go func() {
		ctx, cancel := e.waitCtx()
		defer cancel()
		conn, err := jstp.Connect(ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)},
			func(context.Context) (jstp.Transport, error) { return a, nil })
		if conn != nil {
			conn.Close()
		}
		done <- err
	}()
	peer.expect("{handshake:[0,'app']}")
	peer.send("{handshake:[0,'app']}")
	got := peer.expectMatch(`\{handshake:\[\d+\],error:\[15\]\}`)
	_ = got
	peer.expectClosed("after answering 15")
	if err := await(e, done, "Connect to fail"); err == nil {
		e.t.Errorf("Connect succeeded against a peer that never answered the handshake")
	}
}

// The server-side connection reports the session, the application and a
// real remote address.
func testHandshakeServerSide(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName, withLogin(goodUser, goodPassword))
	sc := fx.serverConn()
	if sc.Session() == nil || sc.Session().ID() != c.Session().ID() {
		e.t.Errorf("server and client disagree on the session id")
	}
	if sc.RemoteAddr() == nil {
		e.t.Errorf("server-side RemoteAddr() is nil")
	}
	if c.RemoteAddr() == nil {
		e.t.Errorf("client-side RemoteAddr() is nil")
	}
	found := false
	for _, cc := range fx.srv.Clients() {
		if cc == sc {
			found = true
		}
	}
	if !found {
		e.t.Errorf("Server.Clients() does not list the connected client")
	}
}
