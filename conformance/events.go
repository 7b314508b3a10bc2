package conformance

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Events",
		testCase{"ClientToServer", testEventsClientToServer},
		testCase{"ClientToServerWire", testEventsClientToServerWire},
		testCase{"ServerToClient", testEventsServerToClient},
		testCase{"ServerToClientWire", testEventsServerToClientWire},
		testCase{"Order", testEventsOrder},
		testCase{"ProxyEmit", testEventsProxyEmit},
		testCase{"NonArrayPayload", testEventsNonArrayPayload},
	)
	register("Inspect",
		testCase{"Methods", testInspectMethods},
		testCase{"Wire", testInspectWire},
		testCase{"UnknownInterface", testInspectUnknownInterface},
		testCase{"ProxyCall", testInspectProxyCall},
		testCase{"ServerInspectsClient", testInspectServerInspectsClient},
		testCase{"ConnectAndInspect", testConnectAndInspect},
		testCase{"ConnectAndInspectEmpty", testConnectAndInspectEmpty},
		testCase{"ConnectAndInspectUnknown", testConnectAndInspectUnknown},
	)
	register("Ping",
		testCase{"Client", testPingClient},
		testCase{"Wire", testPingWire},
		testCase{"Server", testPingServer},
	)
	register("Heartbeat",
		testCase{"ServerStartsAtHandshake", testHeartbeatServerStartsAtHandshake},
		testCase{"ServerNotBeforeHandshake", testHeartbeatServerNotBeforeHandshake},
		testCase{"Client", testHeartbeatClient},
		testCase{"ClientVanishesAfterHandshake", testHeartbeatClientVanishes},
		testCase{"OldStyleEmptyObject", testHeartbeatEmptyObject},
	)
}

// An event emitted by the client reaches the server application's handler
// with its arguments.
func testEventsClientToServer(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	if err := c.Emit("iface", "hello", "world", 42); err != nil {
		e.fatalf("Emit: %v", err)
	}
	ev := await(e, fx.events, "the server to receive iface.hello")
	if ev.name != "hello" || !sameValue(ev.args, []any{"world", 42}) {
		e.t.Errorf("server received %s%v, want hello[world 42]", ev.name, ev.args)
	}
	if ev.conn == nil || ev.conn.Session().ID() != c.Session().ID() {
		e.t.Errorf("event handler got a connection of another session")
	}
	// An event for an interface or name without a handler is dropped quietly.
	if err := c.Emit("nope", "x"); err != nil {
		e.t.Errorf("Emit(nope.x): %v", err)
	}
	c.call("echo")
}

// {event:[id,'iface'],name:[args]} needs no answer.
func testEventsClientToServerWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{event:[1,'iface'],hello:['raw',1]}")
	ev := await(e, fx.events, "the server to receive iface.hello")
	if !sameValue(ev.args, []any{"raw", 1}) {
		e.t.Errorf("args = %v", ev.args)
	}
	rc.alive(2) // the pong is the first answer: the event got none
}

// An event emitted by the server reaches the client's proxy listeners and
// the client application's handler.
func testEventsServerToClient(e *env) {
	fx := e.newFixture()
	clientApp := e.app("clientapp@1.0.0")
	appGot := make(chan []any, 16)
	clientApp.On("iface", "news", func(conn *jstp.Connection, args []any) { appGot <- args })
	c := e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.Application = clientApp })
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	proxyGot := make(chan []any, 16)
	proxy.On("news", func(args []any) { proxyGot <- args })
	sc := fx.serverConn()
	if err := sc.Emit("iface", "news", "flash", 1); err != nil {
		e.fatalf("server Emit: %v", err)
	}
	if args := await(e, proxyGot, "the proxy listener"); !sameValue(args, []any{"flash", 1}) {
		e.t.Errorf("proxy listener got %v", args)
	}
	if args := await(e, appGot, "the client application's handler"); !sameValue(args, []any{"flash", 1}) {
		e.t.Errorf("client application got %v", args)
	}
	// The method the client asked for in turn makes the server emit.
	c.call("emit", "news", "again")
	if args := await(e, proxyGot, "the proxy listener"); !sameValue(args, []any{"again"}) {
		e.t.Errorf("proxy listener got %v", args)
	}
}

// The server's events are numbered down from -1 after its handshake answer.
func testEventsServerToClientWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	sc := fx.serverConn()
	for i := 1; i <= 3; i++ {
		if err := sc.Emit("iface", "tick", i); err != nil {
			e.fatalf("server Emit: %v", err)
		}
		rc.expect(fmt.Sprintf("{event:[-%d,'iface'],tick:[%d]}", i, i))
	}
}

// Many events arrive in the order they were emitted, both ways.
func testEventsOrder(e *env) {
	const n = 200
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	got := make(chan float64, n)
	proxy.On("tick", func(args []any) {
		if len(args) == 1 {
			if f, ok := args[0].(float64); ok {
				got <- f
			}
		}
	})
	sc := fx.serverConn()
	for i := 0; i < n; i++ {
		if err := c.Emit("iface", "tick", i); err != nil {
			e.fatalf("Emit: %v", err)
		}
		if err := sc.Emit("iface", "tick", i); err != nil {
			e.fatalf("server Emit: %v", err)
		}
	}
	for i := 0; i < n; i++ {
		ev := await(e, fx.events, "client event")
		if !sameValue(ev.args, []any{i}) {
			e.fatalf("client event %d arrived as %v", i, ev.args)
		}
		if v := await(e, got, "server event"); v != float64(i) {
			e.fatalf("server event %d arrived as %v", i, v)
		}
	}
}

// Emitting on a proxy sends the event to the peer.
func testEventsProxyEmit(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	if err := proxy.Emit("data", "via proxy"); err != nil {
		e.fatalf("proxy Emit: %v", err)
	}
	ev := await(e, fx.events, "the server to receive iface.data")
	if ev.name != "data" || !sameValue(ev.args, []any{"via proxy"}) {
		e.t.Errorf("server received %s%v", ev.name, ev.args)
	}
}

// An event whose payload is not an array is rejected, not fatal.
func testEventsNonArrayPayload(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{event:[1,'iface'],hello:'x'}")
	rc.alive(2)
	select {
	case ev := <-fx.events:
		e.t.Errorf("an event with a non-array payload reached the handler: %v", ev.args)
	default:
	}
}

// Inspect returns the interface's method names, in the order registered.
func testInspectMethods(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	got := append([]string(nil), proxy.Methods()...)
	want, _ := fx.app.Methods("iface")
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("proxy methods = %v, want %v", got, want)
	}
}

// {inspect:[id,'iface']} is answered {callback:[id],ok:[names...]}.
func testInspectWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	rc.send("{inspect:[1,'other']}")
	rc.expect("{callback:[1],ok:['nothing']}")
	rc.send("{inspect:[2,'nope']}")
	rc.expect("{callback:[2],error:[12]}")
}

// Inspecting an unknown interface fails with 12.
func testInspectUnknownInterface(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	_, err := c.Inspect(e.ctx, "nope")
	if !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("Inspect(nope): err = %v, want 12", err)
	}
}

// A proxy's methods are callable by name.
func testInspectProxyCall(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	proxy, err := c.Inspect(e.ctx, "iface")
	if err != nil {
		e.fatalf("Inspect: %v", err)
	}
	got, err := proxy.Call(e.ctx, "add", 1, 2)
	if err != nil || !sameValue(got, []any{3}) {
		e.t.Errorf("proxy.Call(add, 1, 2) = %v, %v", got, err)
	}
	if _, err := proxy.Call(e.ctx, "nope"); !errors.Is(err, jstp.ErrMethodNotFound) {
		e.t.Errorf("proxy.Call(nope) err = %v, want 14", err)
	}
}

// The server can inspect the client's application; the default client
// application (jstp@1.0.0) has no interfaces.
func testInspectServerInspectsClient(e *env) {
	fx := e.newFixture()
	clientApp := e.app("clientapp@1.0.0")
	e.handle(clientApp, "client", "mul", func(a, b int) int { return a * b })
	e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.Application = clientApp })
	sc := fx.serverConn()
	proxy, err := sc.Inspect(e.ctx, "client")
	if err != nil {
		e.fatalf("server Inspect(client): %v", err)
	}
	if !reflect.DeepEqual(proxy.Methods(), []string{"mul"}) {
		e.t.Errorf("client methods = %v, want [mul]", proxy.Methods())
	}
	e.connect(fx.addr, appName) // default client application
	sc2 := fx.serverConn()
	if _, err := sc2.Inspect(e.ctx, "client"); !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("inspecting the default client application: err = %v, want 12", err)
	}
}

// ConnectAndInspect returns a proxy per named interface.
func testConnectAndInspect(e *env) {
	fx := e.newFixture()
	log := newWireLog()
	d := e.dialer(fx.addr, log)
	conn, proxies, err := jstp.ConnectAndInspect(e.ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)}, d.Dial, "iface", "other")
	if err != nil {
		e.fatalf("ConnectAndInspect: %v", err)
	}
	e.t.Cleanup(func() { conn.Close(); <-conn.Done() })
	if len(proxies) != 2 || proxies["iface"] == nil || proxies["other"] == nil {
		e.fatalf("proxies = %v, want iface and other", proxies)
	}
	if got := proxies["other"].Methods(); !reflect.DeepEqual(got, []string{"nothing"}) {
		e.t.Errorf("other methods = %v", got)
	}
	if got, err := proxies["iface"].Call(e.ctx, "echo", "x"); err != nil || !sameValue(got, []any{"x"}) {
		e.t.Errorf("proxy call = %v, %v", got, err)
	}
}

// ConnectAndInspect with no interfaces connects, sends no inspect and
// returns an empty map (reference issue #329).
func testConnectAndInspectEmpty(e *env) {
	fx := e.newFixture()
	log := newWireLog()
	d := e.dialer(fx.addr, log)
	conn, proxies, err := jstp.ConnectAndInspect(e.ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)}, d.Dial)
	if err != nil {
		e.fatalf("ConnectAndInspect with no interfaces: %v", err)
	}
	e.t.Cleanup(func() { conn.Close(); <-conn.Done() })
	if len(proxies) != 0 {
		e.t.Errorf("proxies = %v, want none", proxies)
	}
	// A ping is a barrier: anything sent before it is in the log by now.
	if err := conn.Ping(e.ctx); err != nil {
		e.fatalf("Ping: %v", err)
	}
	for _, m := range log.filter(func(m wireMsg) bool { return m.dir == out }) {
		if strings.HasPrefix(m.text, "{inspect:") {
			e.t.Errorf("an inspect was sent: %s", m.text)
		}
	}
}

// ConnectAndInspect of an unknown interface fails with 12.
func testConnectAndInspectUnknown(e *env) {
	fx := e.newFixture()
	d := e.dialer(fx.addr, nil)
	conn, _, err := jstp.ConnectAndInspect(e.ctx, appName, &jstp.Client{Reconnector: newManualReconnector(e)}, d.Dial, "iface", "nope")
	if conn != nil {
		e.t.Cleanup(func() { conn.Close(); <-conn.Done() })
	}
	if !errors.Is(err, jstp.ErrInterfaceNotFound) {
		e.t.Errorf("ConnectAndInspect(nope): err = %v, want 12", err)
	}
}

// Ping returns once the pong arrives.
func testPingClient(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	for i := 0; i < 3; i++ {
		if err := c.Ping(e.ctx); err != nil {
			e.fatalf("Ping: %v", err)
		}
	}
	pongs := c.log.filter(func(m wireMsg) bool { return m.dir == in && strings.HasPrefix(m.text, "{pong:") })
	if len(pongs) != 3 || pongs[0].text != "{pong:[1]}" || pongs[2].text != "{pong:[3]}" {
		e.t.Errorf("pongs = %v", pongs)
	}
}

// {ping:[id]} is answered {pong:[id]}, in order.
func testPingWire(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.handshake(appName)
	for i := 1; i <= 100; i++ {
		rc.send(fmt.Sprintf("{ping:[%d]}", i))
	}
	for i := 1; i <= 100; i++ {
		rc.expect(fmt.Sprintf("{pong:[%d]}", i))
	}
}

// The server pings the client; the client answers with the same id.
func testPingServer(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName)
	sc := fx.serverConn()
	if err := sc.Ping(e.ctx); err != nil {
		e.fatalf("server Ping: %v", err)
	}
	m := c.log.waitFor(e, "the client's pong", func(m wireMsg) bool { return m.dir == out && strings.HasPrefix(m.text, "{pong:") })
	if m.text != "{pong:[-1]}" {
		e.t.Errorf("client pong = %s, want {pong:[-1]}", m.text)
	}
}

// A server with a heartbeat interval pings from the handshake on, not only
// after some later event (reference issue #283), numbering its pings down.
func testHeartbeatServerStartsAtHandshake(e *env) {
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.HeartbeatInterval = 20 * time.Millisecond })
	rc := e.raw(fx.addr)
	start := time.Now()
	rc.handshake(appName)
	rc.expect("{ping:[-1]}")
	rc.expect("{ping:[-2]}")
	if el := time.Since(start); el > jstp.DefaultHandshakeTimeout {
		e.t.Errorf("first heartbeats took %v", el)
	}
	rc.send("{pong:[-1]}")
	rc.send("{pong:[-2]}")
}

// No heartbeat before the handshake.
func testHeartbeatServerNotBeforeHandshake(e *env) {
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.HeartbeatInterval = 10 * time.Millisecond })
	rc := e.raw(fx.addr)
	select {
	case <-rc.closed:
		e.fatalf("closed before the handshake")
	case <-time.After(5 * 10 * time.Millisecond):
	}
	rc.mu.Lock()
	early := append([]string(nil), rc.queue...)
	rc.mu.Unlock()
	if len(early) > 0 {
		e.t.Errorf("the server sent %q before the handshake", early)
	}
	rc.handshake(appName)
}

// A client with a heartbeat interval pings the server, which answers.
func testHeartbeatClient(e *env) {
	fx := e.newFixture()
	c := e.connect(fx.addr, appName, func(cl *jstp.Client) { cl.HeartbeatInterval = 20 * time.Millisecond })
	c.log.waitFor(e, "a heartbeat pong", func(m wireMsg) bool { return m.dir == in && m.text == "{pong:[2]}" })
	pings := c.log.filter(func(m wireMsg) bool { return m.dir == out && strings.HasPrefix(m.text, "{ping:") })
	if len(pings) < 2 || pings[0].text != "{ping:[1]}" || pings[1].text != "{ping:[2]}" {
		e.t.Errorf("client heartbeats = %v", pings)
	}
	// Heartbeats stop with the connection: goleak checks the timer goroutine.
}

// A client that vanishes right after its handshake, while the server's
// heartbeat runs, does not disturb the server (reference issue #217).
func testHeartbeatClientVanishes(e *env) {
	fx := e.newFixture(func(o *jstp.ServerOptions) { o.HeartbeatInterval = 5 * time.Millisecond })
	for i := 0; i < 20; i++ {
		rc := e.raw(fx.addr)
		rc.handshake(appName)
		if i%2 == 0 {
			rc.brk()
		} else {
			rc.tr.Close()
		}
		await(e, fx.gone, "OnDisconnect for the vanished client")
	}
	e.eventually("Clients() is empty", func() bool { return len(fx.srv.Clients()) == 0 })
	c := e.connect(fx.addr, appName)
	if got := c.call("echo", "ok"); !sameValue(got, []any{"ok"}) {
		e.t.Errorf("echo after vanished clients = %v", got)
	}
}

// The old-style heartbeat {} is ignored, before and after the handshake.
func testHeartbeatEmptyObject(e *env) {
	fx := e.newFixture()
	rc := e.raw(fx.addr)
	rc.send("{}")
	rc.handshake(appName)
	rc.send("{}")
	rc.alive(1)
}
