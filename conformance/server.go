package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Broadcast",
		testCase{"AllClients", testBroadcastAllClients},
		testCase{"Wire", testBroadcastWire},
		testCase{"ReachesResumedSessions", testBroadcastResumed},
		testCase{"NotToClosed", testBroadcastNotToClosed},
	)
	register("Server",
		testCase{"Clients", testServerClients},
		testCase{"Notifications", testServerNotifications},
		testCase{"Shutdown", testServerShutdown},
		testCase{"ShutdownWaitsForHandlers", testServerShutdownWaits},
		testCase{"ServeAfterShutdown", testServerServeAfterShutdown},
		testCase{"ManyClients", testServerManyClients},
	)
	register("BadInput",
		testCase{"MessageBeforeHandshake", testBadBeforeHandshake},
		testCase{"UnknownKindBeforeHandshake", testBadUnknownKindBeforeHandshake},
		testCase{"SecondHandshake", testBadSecondHandshake},
		testCase{"Malformed", testBadMalformed},
		testCase{"NonObject", testBadNonObject},
		testCase{"UnknownKind", testBadUnknownKind},
		testCase{"CallbackUnknownID", testBadCallbackUnknownID},
		testCase{"PongUnknownID", testBadPongUnknownID},
		testCase{"CallNonArrayArgs", testBadCallNonArrayArgs},
		testCase{"CallNoInterface", testBadCallNoInterface},
		testCase{"HandshakeResponseToServer", testBadHandshakeResponseToServer},
		testCase{"ClientGetsMalformed", testBadClientGetsMalformed},
		testCase{"ClientGetsUnknownCallback", testBadClientGetsUnknownCallback},
	)
	register("Transport",
		testCase{"CloseTwice", testTransportCloseTwice},
		testCase{"CloseConcurrentWithSend", testTransportCloseConcurrentWithSend},
		testCase{"SendAfterClose", testTransportSendAfterClose},
		testCase{"ClosedOnPeerClose", testTransportClosedOnPeerClose},
		testCase{"BreakReportsClosed", testTransportBreak},
		testCase{"RemoteAddr", testTransportRemoteAddr},
		testCase{"Order", testTransportOrder},
		testCase{"SendKeepsNothing", testTransportSendKeepsNothing},
		testCase{"SendParts", testTransportSendParts},
		testCase{"LentArguments", testTransportLentArguments},
		testCase{"ConnectionCloseTwice", testTransportConnectionCloseTwice},
	)
}

// listener collects proxy events of one client.
func listen(e *env, c *client, event string) <-chan []any {
	e.t.Helper()
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	ch := make(chan []any, 64)
	proxy.On(event, func(args []any) { ch <- args })
	return ch
}

// Broadcast reaches every connected client.
func testBroadcastAllClients(e *env) {
	fx := e.newFixture()
	var chans []<-chan []any
	for i := 0; i < 3; i++ {
		c := e.connect(fx.addr, appName)
		chans = append(chans, listen(e, c, "news"))
		fx.serverConn()
	}
	if err := fx.srv.Broadcast("iface", "news", "hello"); err != nil {
		e.fatalf("Broadcast: %v", err)
	}
	for i, ch := range chans {
		if args := await(e, ch, fmt.Sprintf("client %d to get the broadcast", i)); !sameValue(args, []any{"hello"}) {
			e.t.Errorf("client %d got %v", i, args)
		}
	}
}

// A broadcast is an ordinary event with the connection's next id.
func testBroadcastWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	fx.serverConn()
	if err := fx.srv.Broadcast("iface", "news", 1, "two"); err != nil {
		e.fatalf("Broadcast: %v", err)
	}
	rc.expect("{event:[-1,'iface'],news:[1,'two']}")
}

// A broadcast reaches sessions resumed after a drop too (the reference
// forgets them), exactly once.
func testBroadcastResumed(e *env) {
	fx := e.newFixture()
	stay := e.connect(fx.addr, appName)
	stayCh := listen(e, stay, "news")
	c := e.connect(fx.addr, appName)
	ch := listen(e, c, "news")
	fx.breakAndResume(c)
	if err := fx.srv.Broadcast("iface", "news", "after resume"); err != nil {
		e.fatalf("Broadcast: %v", err)
	}
	if args := await(e, ch, "the resumed client to get the broadcast"); !sameValue(args, []any{"after resume"}) {
		e.t.Errorf("resumed client got %v", args)
	}
	await(e, stayCh, "the other client to get the broadcast")
	c.call("echo") // barrier
	stay.call("echo")
	if len(ch) != 0 || len(stayCh) != 0 {
		e.t.Errorf("a broadcast was delivered twice")
	}
}

// A closed client is no longer a broadcast target.
func testBroadcastNotToClosed(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	other := e.connect(fx.addr, appName)
	ch := listen(e, other, "news")
	c.closeAndWait()
	await(e, fx.gone, "OnDisconnect")
	e.eventually("Clients() drops the closed client", func() bool { return len(fx.srv.Clients()) == 1 })
	if err := fx.srv.Broadcast("iface", "news", 1); err != nil {
		e.fatalf("Broadcast: %v", err)
	}
	await(e, ch, "the remaining client to get the broadcast")
}

// Clients lists the handshaken connections, and only them.
func testServerClients(e *env) {
	fx := e.newFixture()
	if n := len(fx.srv.Clients()); n != 0 {
		e.t.Errorf("Clients() before any connection: %d", n)
	}
	pending := e.raw(fx.addr) // connected, never handshaken
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	sc := fx.serverConn()
	e.eventually("Clients() lists the handshaken connection", func() bool { return len(fx.srv.Clients()) >= 1 })
	if cs := fx.srv.Clients(); len(cs) != 1 || cs[0] != sc {
		e.t.Errorf("Clients() = %v, want only the handshaken connection", cs)
	}
	rc.tr.Close()
	await(e, fx.gone, "OnDisconnect")
	e.eventually("Clients() drops the closed connection", func() bool { return len(fx.srv.Clients()) == 0 })
	pending.tr.Close()
}

// OnConnect, OnDisconnect are called once per connection.
func testServerNotifications(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	sc := fx.serverConn()
	c.closeAndWait()
	if gone := await(e, fx.gone, "OnDisconnect"); gone != sc {
		e.t.Errorf("OnDisconnect got another connection")
	}
	await(e, sc.Done(), "the server-side Done()")
	select {
	case extra := <-fx.gone:
		e.t.Errorf("OnDisconnect called twice (%v)", extra)
	case <-time.After(quietWindow):
	}
}

// Shutdown closes every connection; clients see their connection end.
func testServerShutdown(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	ctx, cancel := e.waitCtx()
	defer cancel()
	if err := fx.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	rc.expectClosed("after Shutdown")
	await(e, c.Done(), "the client's Done() after Shutdown (its reconnector gives up)")
}

// Shutdown waits for running handlers, and the context bounds the wait.
func testServerShutdownWaits(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	call := c.callAsync(false, "hold", 1)
	await(e, fx.blocked, "hold(1) to start")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
		defer cancel()
		done <- fx.srv.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		e.fatalf("Shutdown returned (%v) while a handler was running", err)
	case <-time.After(quietWindow):
	}
	fx.release <- struct{}{}
	if err := await(e, done, "Shutdown after the handler finished"); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	await(e, call, "the call")
	// A context that ends first bounds the wait.
	fx2 := e.newFixture()
	c2 := e.connect(fx2.addr, appName)
	c2.callAsync(false, "hold", 2)
	await(e, fx2.blocked, "hold(2) to start")
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
	defer cancel()
	if err := fx2.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		e.t.Errorf("Shutdown with a handler still running past the deadline: err = %v, want DeadlineExceeded", err)
	}
	fx2.release <- struct{}{}
}

// After Shutdown, Serve just closes the transports it is given.
func testServerServeAfterShutdown(e *env) {
	fx := e.newFixture()
	if err := fx.srv.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	_, err := e.tryConnect(fx.addr, appName)
	if err == nil {
		e.t.Errorf("Connect to a closed server succeeded")
	}
	a, b := jstp.Pipe()
	peer := e.newRawConn(b)
	b.Start(peer)
	fx.srv.Serve(a)
	peer.expectClosed("a transport served after Shutdown")
	if err := fx.srv.Close(); err != nil && !errors.Is(err, jstp.ErrServerClosed) {
		e.t.Errorf("second Close: %v", err)
	}
}

// Many clients at once, each making calls.
func testServerManyClients(e *env) {
	const n = 20
	fx := e.newFixture()
	var wg sync.WaitGroup
	var failed atomic.Int32
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.connect(fx.addr, appName)
	}
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				res, err := c.Call(e.ctx, "iface", "add", i, j)
				if err != nil || !sameValue(res, []any{i + j}) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != 0 {
		e.t.Errorf("%d calls failed", f)
	}
	if got := len(fx.srv.Clients()); got != n {
		e.t.Errorf("Clients() = %d, want %d", got, n)
	}
}

// --- bad input ---------------------------------------------------------------

// badInputFixture is a fixture whose server hook records rejected messages,
// plus a bystander client that must be unaffected.
type badInputFixture struct {
	*fixture
	rejected  chan string
	bystander *client
}

func (e *env) badInputFixture() *badInputFixture {
	rejected := make(chan string, 64)
	fx := e.newFixture(func(o *jstp.ServerOptions) {
		o.Hook = func(ev jstp.LogEvent) {
			if ev.Kind == jstp.LogRejected {
				select {
				case rejected <- string(ev.Message):
				default:
				}
			}
		}
	})
	b := &badInputFixture{fixture: fx, rejected: rejected}
	b.bystander = e.connect(fx.addr, appName)
	fx.serverConn()
	e.t.Cleanup(func() {
		if e.t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := b.bystander.Call(ctx, "iface", "echo"); err != nil {
			e.t.Errorf("a bystander connection was affected by the bad input: %v", err)
		}
	})
	return b
}

// expectRejected waits for the server to log a rejected message.
func (b *badInputFixture) expectRejected(what string) {
	b.e.t.Helper()
	await(b.e, b.rejected, "the server to log the rejected "+what)
}

// Any message before the handshake closes the connection, unanswered.
func testBadBeforeHandshake(e *env) {
	b := e.badInputFixture()
	for _, msg := range []string{"{call:[1,'iface'],echo:[]}", "{ping:[1]}", "{event:[1,'iface'],hello:[]}", "{inspect:[1,'iface']}"} {
		rc := e.raw(b.addr)
		rc.send(msg)
		rc.expectClosed(msg + " before the handshake")
	}
}

// An unknown kind before the handshake is fatal too.
func testBadUnknownKindBeforeHandshake(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.send("{foo:[1]}")
	rc.expectClosed("an unknown kind before the handshake")
}

// A second handshake closes the connection.
func testBadSecondHandshake(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{handshake:[1,'app']}")
	rc.expectClosed("a second handshake")
}

// A message that is not valid mdsf closes the connection.
func testBadMalformed(e *env) {
	b := e.badInputFixture()
	for _, msg := range []string{"{call:[1,", "}{", "{a:1} trailing", "'unterminated", "{ping:[012]}"} {
		rc := e.raw(b.addr)
		rc.handshake(appName)
		rc.send(msg)
		rc.expectClosed(fmt.Sprintf("malformed %q", msg))
	}
	// Before the handshake too.
	rc := e.raw(b.addr)
	rc.send("{{{")
	rc.expectClosed("malformed text before the handshake")
}

// A well-formed value that is not an object is rejected, not fatal.
func testBadNonObject(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	for i, msg := range []string{"[1,2]", "'text'", "42", "null", "true"} {
		rc.send(msg)
		rc.alive(i + 1)
	}
}

// An unknown kind is rejected (logged), not fatal.
func testBadUnknownKind(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{foo:[1,'iface'],bar:[]}")
	b.expectRejected("unknown kind")
	rc.alive(2)
}

// A callback for an id that is not pending is rejected, not fatal.
func testBadCallbackUnknownID(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{callback:[-77],ok:[]}")
	b.expectRejected("callback for an unknown id")
	rc.alive(1)
	// The session's delivery bookkeeping is not corrupted: server events
	// still flow.
	if err := b.srv.Broadcast("iface", "news", 1); err != nil {
		e.fatalf("Broadcast: %v", err)
	}
	rc.expectMatch(`\{event:\[-1,'iface'\],news:\[1\]\}`)
}

// A pong for an id that is not pending is ignored.
func testBadPongUnknownID(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{pong:[-5]}")
	rc.alive(1)
}

// A call whose arguments are not an array is answered with 17.
func testBadCallNonArrayArgs(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{call:[1,'iface'],echo:'x'}")
	rc.expect("{callback:[1],error:[17]}")
	rc.send("{call:[2,'iface'],echo:{a:1}}")
	rc.expect("{callback:[2],error:[17]}")
	rc.send("{call:[3,'iface']}")
	rc.expect("{callback:[3],error:[17]}")
	rc.alive(4)
}

// A call without an interface name is answered (12), not fatal.
func testBadCallNoInterface(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.handshake(appName)
	rc.send("{call:[1],echo:[]}")
	rc.expectMatch(`\{callback:\[1\],error:\[1[27]\]\}`)
	rc.alive(2)
}

// A handshake response sent to a server (no application name) before the
// handshake is not taken as a handshake: the connection is closed.
func testBadHandshakeResponseToServer(e *env) {
	b := e.badInputFixture()
	rc := e.raw(b.addr)
	rc.send("{handshake:[0],ok:'x'}")
	rc.expectClosed("a handshake response sent to the server")
}

// A client that receives a malformed message closes its transport; with
// its reconnector it resumes, and pending calls complete.
func testBadClientGetsMalformed(e *env) {
	// The server's side cannot be made to send garbage through the public
	// API, so this is checked over the in-memory pipe with a scripted peer.
	a, bEnd := jstp.Pipe()
	peer := e.newRawConn(bEnd)
	bEnd.Start(peer)
	e.t.Cleanup(func() { bEnd.Close() })
	done := make(chan *jstp.Connection, 1)
	go func() {
		conn, err := jstp.Connect(e.ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)},
			func(context.Context) (jstp.Transport, error) { return a, nil })
		if err != nil {
			e.t.Errorf("Connect to the scripted peer: %v", err)
		}
		done <- conn
	}()
	peer.expect("{handshake:[0,'app']}")
	peer.send("{handshake:[0],ok:'00000000-0000-4000-8000-000000000000'}")
	conn := await(e, done, "Connect")
	if conn == nil {
		return
	}
	defer func() { conn.Close(); <-conn.Done() }()
	peer.send("{callback:")
	peer.expectClosed("the client after a malformed message")
	await(e, conn.Done(), "the client's Done()")
}

// A client that receives a callback for an unknown id ignores it.
func testBadClientGetsUnknownCallback(e *env) {
	a, bEnd := jstp.Pipe()
	peer := e.newRawConn(bEnd)
	bEnd.Start(peer)
	e.t.Cleanup(func() { bEnd.Close() })
	done := make(chan *jstp.Connection, 1)
	go func() {
		conn, _ := jstp.Connect(e.ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)},
			func(context.Context) (jstp.Transport, error) { return a, nil })
		done <- conn
	}()
	peer.expect("{handshake:[0,'app']}")
	peer.send("{handshake:[0],ok:'00000000-0000-4000-8000-000000000000'}")
	conn := await(e, done, "Connect")
	if conn == nil {
		e.fatalf("Connect to the scripted peer failed")
	}
	defer func() { conn.Close(); <-conn.Done() }()
	peer.send("{callback:[9],ok:[]}")
	peer.send("{ping:[-1]}")
	peer.expect("{pong:[-1]}")
}

// --- transports ----------------------------------------------------------------

// countingReceiver counts what a transport delivers and checks the
// Receiver contract.
type countingReceiver struct {
	closed chan error
	n      atomic.Int32
	msgs   atomic.Int32
	cc     contract
}

func (r *countingReceiver) Message(data []byte) {
	r.cc.enter(false, data)
	defer r.cc.leave()
	r.msgs.Add(1)
}

func (r *countingReceiver) Closed(err error) {
	r.cc.enter(true, nil)
	defer r.cc.leave()
	if r.n.Add(1) == 1 {
		r.closed <- err
	}
}

// dialStarted dials addr and starts the transport with a counting receiver.
func (e *env) dialStarted(addr string) (jstp.Transport, *countingReceiver) {
	e.t.Helper()
	ctx, cancel := e.waitCtx()
	defer cancel()
	tr, err := e.f.Dial(ctx, addr)
	if err != nil {
		e.fatalf("Dial: %v", err)
	}
	r := &countingReceiver{closed: make(chan error, 1), cc: contract{t: e.t}}
	tr.Start(r)
	e.t.Cleanup(func() { tr.Close() })
	e.onAbort(func() { tr.Close() })
	return tr, r
}

// Close may be called twice; Closed is reported exactly once.
func testTransportCloseTwice(e *env) {
	fx := e.newFixture()
	tr, r := e.dialStarted(fx.addr)
	if err := tr.Close(); err != nil {
		e.t.Errorf("first Close: %v", err)
	}
	tr.Close() // must not panic; its error, if any, is not specified
	await(e, r.closed, "Receiver.Closed")
	tr.Close()
	quiet(e, r.closed, "a second Receiver.Closed")
	if n := r.n.Load(); n != 1 {
		e.t.Errorf("Receiver.Closed called %d times", n)
	}
}

// Close concurrent with Send is safe (run with -race): no panic, no race.
func testTransportCloseConcurrentWithSend(e *env) {
	fx := e.newFixture()
	for round := 0; round < 5; round++ {
		tr, r := e.dialStarted(fx.addr)
		if err := tr.Send([]byte("{handshake:[0,'app']}")); err != nil {
			e.fatalf("Send: %v", err)
		}
		var wg sync.WaitGroup
		wg.Add(3)
		go func() {
			defer wg.Done()
			for i := 1; i <= 200; i++ {
				if tr.Send([]byte(fmt.Sprintf("{ping:[%d]}", i))) != nil {
					return
				}
			}
		}()
		go func() { defer wg.Done(); tr.Close() }()
		go func() { defer wg.Done(); tr.Close() }()
		wg.Wait()
		await(e, r.closed, "Receiver.Closed")
	}
}

// Send after Close returns an error.
func testTransportSendAfterClose(e *env) {
	fx := e.newFixture()
	tr, r := e.dialStarted(fx.addr)
	tr.Close()
	await(e, r.closed, "Receiver.Closed")
	if err := tr.Send([]byte("{ping:[1]}")); err == nil {
		e.t.Errorf("Send after Close returned no error")
	}
}

// When the peer closes, Closed is reported.
func testTransportClosedOnPeerClose(e *env) {
	fx := e.newFixture()
	tr, r := e.dialStarted(fx.addr)
	tr.Send([]byte("{ping:[1]}")) // before the handshake: the server closes
	await(e, r.closed, "Receiver.Closed after the server closed")
	if n := r.msgs.Load(); n != 0 {
		e.t.Errorf("got %d messages before the close", n)
	}
}

// Break severs the transport: Closed is reported at both ends.
func testTransportBreak(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	sc := fx.serverConn()
	rc.brk()
	await(e, fx.gone, "the server to notice the break")
	_ = sc
}

// The remote address is real: never nil, a port for network transports.
func testTransportRemoteAddr(e *env) {
	fx := e.newFixture()
	tr, _ := e.dialStarted(fx.addr)
	checkAddr(e, "dialed transport", tr.RemoteAddr())
}

// checkAddr checks that a is non-nil and, for a network address, has a
// host and a non-zero port.
func checkAddr(e *env, what string, a net.Addr) {
	e.t.Helper()
	if a == nil {
		e.t.Errorf("%s RemoteAddr() is nil", what)
		return
	}
	if a.String() == "" || a.Network() == "" {
		e.t.Errorf("%s RemoteAddr() = %q (network %q)", what, a.String(), a.Network())
	}
	switch a.(type) {
	case *net.TCPAddr, *net.UDPAddr:
	default:
		if !strings.HasPrefix(a.Network(), "tcp") && !strings.HasPrefix(a.Network(), "udp") {
			return
		}
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil || host == "" || port == "" || port == "0" {
		e.t.Errorf("%s RemoteAddr() = %q: want host:port with a port", what, a.String())
	}
}

// A long burst of messages arrives complete and in order, both ways.
func testTransportOrder(e *env) {
	const n = 1000
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	sc := fx.serverConn()
	for i := 1; i <= n; i++ {
		rc.send(fmt.Sprintf("{ping:[%d]}", i))
	}
	for i := 1; i <= n; i++ {
		rc.expect(fmt.Sprintf("{pong:[%d]}", i))
	}
	go func() {
		for i := 1; i <= n; i++ {
			if sc.Emit("iface", "tick", i) != nil {
				return
			}
		}
	}()
	for i := 1; i <= n; i++ {
		rc.expect(fmt.Sprintf("{event:[-%d,'iface'],tick:[%d]}", i, i))
	}
}

// Send keeps nothing of the message once it returns: the engine writes
// large messages from buffers it reuses as soon as Send is done with them.
// Each large call is overwritten right after Send (with another valid
// message of the same length, as a reused buffer would be); the server
// must have read the original.
func testTransportSendKeepsNothing(e *env) {
	const n, size = 8, 256 << 10
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	arg := func(i int) string { return strings.Repeat(string(rune('a'+i)), size) }
	for i := 1; i <= n; i++ {
		head := fmt.Sprintf("{call:[%d,'iface'],echo:['", i)
		msg := []byte(head + arg(i) + "']}")
		if err := rc.tr.Send(msg); err != nil {
			e.fatalf("Send of a %d-byte call: %v", len(msg), err)
		}
		for j := len(head); j < len(head)+size; j++ {
			msg[j] = 'z'
		}
	}
	// Calls run concurrently, so their answers may come in any order.
	for range n {
		got := rc.next("the callbacks of the large calls")
		var i int
		if _, err := fmt.Sscanf(got, "{callback:[%d]", &i); err != nil || i < 1 || i > n {
			e.fatalf("not the callback of a large call: %.60s", got)
		}
		if want := fmt.Sprintf("{callback:[%d],ok:['%s']}", i, arg(i)); got != want {
			e.t.Fatalf("the answer to call %d is not the echo of what was sent (%.40s...): the transport read the message after Send returned", i, got)
		}
	}
}

// Connection.Close may be called twice and concurrently with calls.
func testTransportConnectionCloseTwice(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Call(e.ctx, "iface", "echo", i)
			c.Emit("iface", "hello")
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); c.Close() }()
	go func() { defer wg.Done(); c.Close() }()
	wg.Wait()
	await(e, c.Done(), "Done()")
	c.Close()
}
