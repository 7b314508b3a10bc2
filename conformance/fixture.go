package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// appName is the name of the application most subtests connect to.
const appName = "app"

// Credentials accepted by the fixture's auth policy.
const (
	goodUser     = "user"
	goodPassword = "secret"
)

// received is one event delivered to an application or a proxy.
type received struct {
	conn  *jstp.Connection
	iface string
	name  string
	args  []any
}

// fixture is a server running the test application, and what the
// application saw.
type fixture struct {
	e    *env
	srv  *jstp.Server
	addr string
	app  *jstp.Application

	events  chan received         // events the server application received
	conns   chan *jstp.Connection // server-side connections, at OnConnect
	resumed chan *jstp.Connection // server-side connections, at OnReconnect
	gone    chan *jstp.Connection // server-side connections, at OnDisconnect
	blocked chan int              // iface.block reports its argument here when it starts
	release chan struct{}         // iface.block returns when this is closed or receives
	execs   sync.Map              // method name -> *int64 executions
	// tickGate, when set before the first iface.tick event arrives, holds
	// that event's handler until it is closed.
	tickGate     chan struct{}
	tickGateOnce sync.Once
	lastArgs     sync.Map // method name -> []any of the last call
	lentStarts   sync.Map // iface.lentEcho: call index -> chan struct{}, closed when it starts
	lentDone     chan struct{}
	lentOnce     sync.Once
}

// stopLent makes every iface.lentEcho call return at once.
func (fx *fixture) stopLent() { fx.lentOnce.Do(func() { close(fx.lentDone) }) }

// lentStarted returns the channel closed when iface.lentEcho call i starts.
func (fx *fixture) lentStarted(i int) chan struct{} {
	ch, _ := fx.lentStarts.LoadOrStore(i, make(chan struct{}))
	return ch.(chan struct{})
}

// serverOpts tweaks the options of the fixture's server.
type serverOpts func(*jstp.ServerOptions)

// newFixture starts a server with the test application "app@1.0.0":
//
//	iface.echo(...args)        -> args
//	iface.add(a, b int)        -> a + b
//	iface.fail()               -> error [42, 'custom', 1, 'x']
//	iface.plainError()         -> a plain Go error (answered as 16)
//	iface.panic()              -> panics (answered as 16)
//	iface.block(n)             -> waits for release (or its context), then n
//	iface.hold(n)              -> waits for release, ignoring its context, then n
//	iface.count(...args)       -> counts executions, returns the count
//	iface.emit(name, ...args)  -> emits event iface.name(args) back to the caller
//	iface.setState(k, v)       -> stores v under k in the session
//	iface.getState(k)          -> the value stored under k
//	iface.whoami()             -> the session's username
//	iface.lentEcho(i, last, s) -> s, once call i+1 has started (unless last);
//	                              registered with jstp.BorrowArgs
//	iface.quick(n)             -> n; registered with jstp.NonBlocking
//	iface.version()            -> the application's version
//	other.nothing()            -> nil
//
// and event handlers recording iface.* events into fx.events.
func (e *env) newFixture(mods ...serverOpts) *fixture {
	e.t.Helper()
	fx := &fixture{
		e:        e,
		events:   make(chan received, 1024),
		conns:    make(chan *jstp.Connection, 64),
		resumed:  make(chan *jstp.Connection, 64),
		lentDone: make(chan struct{}),
		gone:     make(chan *jstp.Connection, 64),
		blocked:  make(chan int, 1024),
		release:  make(chan struct{}, 1024),
	}
	fx.app = e.testApp(appName+"@1.0.0", fx)
	opts := jstp.ServerOptions{
		Applications: []*jstp.Application{fx.app},
		AuthPolicy:   testAuth(),
		OnConnect:    func(c *jstp.Connection) { fx.conns <- c },
		OnReconnect:  func(c *jstp.Connection) { fx.resumed <- c },
		OnDisconnect: func(c *jstp.Connection) { fx.gone <- c },
	}
	for _, m := range mods {
		m(&opts)
	}
	fx.srv, fx.addr = e.listen(opts)
	e.t.Cleanup(func() {
		// Let blocked handlers finish so that no goroutine is left behind.
		for i := 0; i < cap(fx.release); i++ {
			select {
			case fx.release <- struct{}{}:
			default:
			}
		}
	})
	return fx
}

// testAuth accepts goodUser/goodPassword, answers 42 'banned' for user
// "banned", and refuses everything else.
func testAuth() jstp.AuthPolicy {
	return jstp.AuthFunc(func(ctx context.Context, conn *jstp.Connection, app *jstp.Application, strategy string, credentials []any) (string, error) {
		if strategy != "login" || len(credentials) != 2 {
			return "", jstp.ErrAuthFailed
		}
		user, _ := credentials[0].(string)
		pass, _ := credentials[1].(string)
		switch {
		case user == "banned":
			return "", jstp.NewError(42, "banned")
		case user == "plain":
			return "", errors.New("plain failure")
		case user == goodUser && pass == goodPassword:
			return user, nil
		}
		return "", jstp.ErrAuthFailed
	})
}

// exec counts an execution of method.
func (fx *fixture) exec(method string, args []any) {
	v, _ := fx.execs.LoadOrStore(method, new(int64))
	atomic.AddInt64(v.(*int64), 1)
	fx.lastArgs.Store(method, args)
}

// executions returns how many times method ran.
func (fx *fixture) executions(method string) int64 {
	v, ok := fx.execs.Load(method)
	if !ok {
		return 0
	}
	return atomic.LoadInt64(v.(*int64))
}

// testApp builds the test application named name (see newFixture). fx may
// be nil for extra versions of the application that only answer version().
func (e *env) testApp(name string, fx *fixture) *jstp.Application {
	e.t.Helper()
	a := e.app(name)
	version := a.Version()
	e.handle(a, "iface", "version", func() string { return version })
	if fx == nil {
		return a
	}
	a.HandleRaw("iface", "echo", -1, func(ctx context.Context, conn *jstp.Connection, args []any) ([]any, error) {
		fx.exec("echo", args)
		return args, nil
	})
	e.handle(a, "iface", "add", func(x, y int) int { return x + y })
	e.handle(a, "iface", "fail", func() error { return jstp.NewError(42, "custom", 1, "x") })
	e.handle(a, "iface", "plainError", func() error { return errors.New("internal detail") })
	e.handle(a, "iface", "panic", func() int { panic("conformance: deliberate panic") })
	e.handle(a, "iface", "block", func(ctx context.Context, n int) (int, error) {
		fx.exec("block", []any{n})
		fx.blocked <- n
		select {
		case <-fx.release:
			return n, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-e.ctx.Done():
			return 0, e.ctx.Err()
		}
	})
	// hold is block ignoring its context: it returns only when released.
	e.handle(a, "iface", "hold", func(n int) int {
		fx.exec("hold", []any{n})
		fx.blocked <- n
		select {
		case <-fx.release:
		case <-e.ctx.Done():
		}
		return n
	})
	a.HandleRaw("iface", "count", -1, func(ctx context.Context, conn *jstp.Connection, args []any) ([]any, error) {
		fx.exec("count", args)
		return []any{float64(fx.executions("count"))}, nil
	})
	a.HandleRaw("iface", "emit", -1, func(ctx context.Context, conn *jstp.Connection, args []any) ([]any, error) {
		if len(args) < 1 {
			return nil, jstp.ErrInvalidSignature
		}
		name, _ := args[0].(string)
		return nil, conn.Emit("iface", name, args[1:]...)
	})
	e.handle(a, "iface", "setState", func(conn *jstp.Connection, k, v string) {
		conn.Session().Set(k, v)
	})
	e.handle(a, "iface", "getState", func(conn *jstp.Connection, k string) string {
		v, _ := conn.Session().Get(k)
		s, _ := v.(string)
		return s
	})
	e.handle(a, "iface", "whoami", func(conn *jstp.Connection) string { return conn.Session().Username() })
	// lentEcho holds its borrowed argument until the next call has started,
	// so that the transport reads on while the argument is in use.
	if err := a.Handle("iface", "lentEcho", func(i int, last bool, s string) string {
		close(fx.lentStarted(i))
		if !last {
			select {
			case <-fx.lentStarted(i + 1):
			case <-fx.lentDone:
			case <-e.ctx.Done():
			}
		}
		return s
	}, jstp.BorrowArgs()); err != nil {
		e.fatalf("Handle(iface.lentEcho): %v", err)
	}
	if err := a.Handle("iface", "quick", func(n int) int { return n }, jstp.NonBlocking()); err != nil {
		e.fatalf("Handle(iface.quick): %v", err)
	}
	e.handle(a, "other", "nothing", func() {})
	for _, ev := range []string{"hello", "tick", "data"} {
		ev := ev
		a.On("iface", ev, func(conn *jstp.Connection, args []any) {
			if ev == "tick" && fx.tickGate != nil {
				fx.tickGateOnce.Do(func() {
					select {
					case <-fx.tickGate:
					case <-e.ctx.Done():
					}
				})
			}
			fx.events <- received{conn: conn, iface: "iface", name: ev, args: args}
		})
	}
	return a
}

// serverConn waits for the next server-side connection to be reported by
// OnConnect.
func (fx *fixture) serverConn() *jstp.Connection {
	fx.e.t.Helper()
	return await(fx.e, fx.conns, "the server's OnConnect")
}

// --- Go clients --------------------------------------------------------------

// clientOpts tweaks a client before it connects.
type clientOpts func(*jstp.Client)

// client is a Go client connection with its dialer and wire log.
type client struct {
	*jstp.Connection
	d   *tapDialer
	log *wireLog
	rec *manualReconnector
}

// connect connects a Go client to addr/app over the factory. By default the
// client never reconnects (a manualReconnector that is never triggered) so
// that the subtest controls every redial.
func (e *env) connect(addr, app string, mods ...clientOpts) *client {
	e.t.Helper()
	c, err := e.tryConnect(addr, app, mods...)
	if err != nil {
		e.fatalf("Connect(%q): %v", app, err)
	}
	return c
}

// tryConnect is connect returning the error.
func (e *env) tryConnect(addr, app string, mods ...clientOpts) (*client, error) {
	e.t.Helper()
	log := newWireLog()
	d := e.dialer(addr, log)
	rec := newManualReconnector(e)
	cl := &jstp.Client{Reconnector: rec}
	for _, m := range mods {
		m(cl)
	}
	ctx, cancel := e.waitCtx()
	defer cancel()
	conn, err := jstp.Connect(ctx, app, cl, d.Dial)
	if err != nil {
		return &client{d: d, log: log, rec: rec}, err
	}
	c := &client{Connection: conn, d: d, log: log, rec: rec}
	e.t.Cleanup(func() { c.closeAndWait() })
	e.onAbort(func() { conn.Close() })
	return c, nil
}

// closeAndWait closes the connection and waits until it is finally done.
func (c *client) closeAndWait() {
	c.Close()
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		c.d.e.t.Errorf("Done() not closed within %v of Close", waitTimeout)
	}
}

// call calls iface.method and fails the subtest on error.
func (c *client) call(method string, args ...any) []any {
	c.d.e.t.Helper()
	ctx, cancel := c.d.e.waitCtx()
	defer cancel()
	res, err := c.Call(ctx, "iface", method, args...)
	if err != nil {
		c.d.e.fatalf("Call(iface.%s%v): %v", method, args, err)
	}
	return res
}

// callAsync starts a call and returns a channel with its outcome.
func (c *client) callAsync(resend bool, method string, args ...any) <-chan callResult {
	ch := make(chan callResult, 1)
	ctx, cancel := context.WithTimeout(c.d.e.ctx, 2*waitTimeout)
	go func() {
		defer cancel()
		var r callResult
		if resend {
			r.res, r.err = c.CallWithResend(ctx, "iface", method, args...)
		} else {
			r.res, r.err = c.Call(ctx, "iface", method, args...)
		}
		ch <- r
	}()
	return ch
}

// callResult is the outcome of an asynchronous call.
type callResult struct {
	res []any
	err error
}

func (r callResult) String() string { return fmt.Sprintf("(%v, %v)", r.res, r.err) }

// brk severs the client's current transport abruptly.
func (c *client) brk() {
	c.d.e.breakTransport(c.d.last())
}

// withLogin makes the client log in.
func withLogin(user, pass string) clientOpts {
	return func(cl *jstp.Client) { cl.Login, cl.Password = user, pass }
}
