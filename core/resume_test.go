package jstp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// breakableDialer dials the server over pipes and remembers the last client
// end so a test can break it.
type breakableDialer struct {
	srv  *Server
	mu   sync.Mutex
	last *PipeEnd
	n    int
}

func (d *breakableDialer) dial(ctx context.Context) (Transport, error) {
	a, b := Pipe()
	d.srv.Serve(b)
	d.mu.Lock()
	d.last = a
	d.n++
	d.mu.Unlock()
	return a, nil
}

func (d *breakableDialer) breakLast() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last.Break()
}

func fastReconnector() Reconnector {
	return ReconnectorFunc(func(*Connection, int, error) (time.Duration, Dialer, bool) {
		return time.Millisecond, nil, true
	})
}

func TestResumeAfterBreak(t *testing.T) {
	app := MustNewApplication("app")
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var calls sync.Map
	app.Handle("iface", "slow", func(ctx context.Context, n float64) (float64, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return n, nil
	})
	app.Handle("iface", "count", func(n float64) float64 {
		v, _ := calls.LoadOrStore(n, new(int))
		*v.(*int)++
		return n
	})
	reconnected := make(chan *Connection, 4)
	srv, _ := testServer(t, ServerOptions{Applications: []*Application{app}, OnReconnect: func(c *Connection) { reconnected <- c }})
	d := &breakableDialer{srv: srv}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "app", &Client{Reconnector: fastReconnector()}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Call(ctx, "iface", "count", 1); err != nil {
		t.Fatal(err)
	}
	// A call in flight when the pipe breaks: its answer is lost.
	slowErr := make(chan error, 1)
	go func() {
		_, err := conn.Call(ctx, "iface", "slow", 7)
		slowErr <- err
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("server never received the slow call")
	}
	d.breakLast()
	close(release)
	select {
	case err := <-slowErr:
		if !errors.Is(err, ErrCallbackLost) {
			t.Fatalf("slow call: %v, want ErrCallbackLost", err)
		}
	case <-ctx.Done():
		t.Fatal("slow call hung")
	}
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("no resume")
	}
	res, err := conn.Call(ctx, "iface", "count", 2)
	if err != nil || res[0] != 2.0 {
		t.Fatalf("after resume: %v %v", res, err)
	}
	if got := conn.Session().lastID; got != 3 {
		t.Fatalf("client ids continued to %d, want 3", got)
	}
	// The lost call was watched (the second under ctx): it left the watch.
	if ws := conn.watchState(); ws.done != ctx.Done() || ws.n != 0 || ws.pending != 0 {
		t.Fatalf("watch after the resumption = %+v, want ctx's with nothing waiting", ws)
	}
}

// An event emitted on a server connection whose transport closed by
// itself, once a resumption has bound the session to a new connection but
// before the old connection has finished, goes out on the new connection:
// buffered on the old one, after the resumption's resend, it would have
// reached the client only at the next resumption, if ever. A call there
// fails at once.
func TestResumeEmitBeforeOldConnectionFinishes(t *testing.T) {
	app := MustNewApplication("app")
	connected := make(chan *Connection, 1)
	reconnected := make(chan *Connection, 1)
	srv, _ := testServer(t, ServerOptions{
		Applications: []*Application{app},
		OnConnect:    func(c *Connection) { connected <- c },
		OnReconnect:  func(c *Connection) { reconnected <- c },
	})
	// The first server connection to close stops between letting its
	// session go and finishing, until the test is done with it.
	detached := make(chan *Connection, 1)
	release := make(chan struct{})
	var once sync.Once
	hook := func(c *Connection) {
		first := false
		once.Do(func() { first = true })
		if first {
			detached <- c
			<-release
		}
	}
	testHookDetached.Store(&hook)
	var releaseOnce sync.Once
	t.Cleanup(func() {
		releaseOnce.Do(func() { close(release) })
		testHookDetached.Store(nil)
	})

	clientApp := MustNewApplication("clientApp")
	ticks := make(chan float64, 4)
	clientApp.On("iface", "tick", func(_ *Connection, args []any) {
		if len(args) == 1 {
			if f, ok := args[0].(float64); ok {
				ticks <- f
			}
		}
	})
	d := &breakableDialer{srv: srv}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "app", &Client{Application: clientApp, Reconnector: fastReconnector()}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wait := func(what string, ch any) any {
		t.Helper()
		switch ch := ch.(type) {
		case chan *Connection:
			select {
			case c := <-ch:
				return c
			case <-ctx.Done():
			}
		case chan float64:
			select {
			case f := <-ch:
				return f
			case <-ctx.Done():
			}
		}
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
	old := wait("the first connection", connected).(*Connection)
	if err := old.Emit("iface", "tick", 1); err != nil {
		t.Fatal(err)
	}
	if got := wait("tick 1", ticks); got != 1.0 {
		t.Fatalf("tick 1 arrived as %v", got)
	}
	d.breakLast()
	if c := wait("the old connection to let its session go", detached); c != old {
		t.Fatalf("detached connection %p, want the first %p", c, old)
	}
	wait("the resumption", reconnected)
	if err := old.Emit("iface", "tick", 2); err != nil {
		t.Fatalf("Emit on the old connection: %v", err)
	}
	if got := wait("tick 2", ticks); got != 2.0 {
		t.Fatalf("tick 2 arrived as %v", got)
	}
	if _, err := old.Call(ctx, "iface", "nope"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call on the old connection: %v, want ErrClosed", err)
	}
	releaseOnce.Do(func() { close(release) })
}
