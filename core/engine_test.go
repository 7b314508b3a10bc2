package jstp

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"
)

func testServer(t *testing.T, opts ServerOptions) (*Server, Dialer) {
	t.Helper()
	if opts.Applications == nil {
		app := MustNewApplication("testApp@1.0.0")
		if err := app.Handle("calc", "add", func(a, b float64) float64 { return a + b }); err != nil {
			t.Fatal(err)
		}
		app.HandleRaw("calc", "fail", 0, func(ctx context.Context, c *Connection, args []any) ([]any, error) {
			return nil, NewError(42, "custom failure", "info")
		})
		app.HandleRaw("calc", "panic", 0, func(ctx context.Context, c *Connection, args []any) ([]any, error) {
			panic("boom")
		})
		opts.Applications = []*Application{app}
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, func(ctx context.Context) (Transport, error) {
		a, b := Pipe()
		srv.Serve(b)
		return a, nil
	}
}

func TestEngineRoundTrip(t *testing.T) {
	_, dial := testServer(t, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "testApp", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Call(ctx, "calc", "add", 2, 3)
	if err != nil || len(res) != 1 || res[0] != 5.0 {
		t.Fatalf("add: %v %v", res, err)
	}
	_, err = conn.Call(ctx, "calc", "add", 2)
	if !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("arity: %v", err)
	}
	_, err = conn.Call(ctx, "calc", "nope")
	if !errors.Is(err, ErrMethodNotFound) {
		t.Fatalf("method: %v", err)
	}
	_, err = conn.Call(ctx, "nope", "nope")
	if !errors.Is(err, ErrInterfaceNotFound) {
		t.Fatalf("iface: %v", err)
	}
	_, err = conn.Call(ctx, "calc", "panic")
	if !errors.Is(err, ErrInternalAPIError) {
		t.Fatalf("panic: %v", err)
	}
	_, err = conn.Call(ctx, "calc", "fail")
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != 42 || re.Message != "custom failure" || len(re.Info) != 1 {
		t.Fatalf("custom: %#v", err)
	}
	p, err := conn.Inspect(ctx, "calc")
	if err != nil || len(p.Methods()) != 3 {
		t.Fatalf("inspect: %v %v", p, err)
	}
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPanickingAuthPolicyAndHooks(t *testing.T) {
	app := MustNewApplication("app")
	_, dial := testServer(t, ServerOptions{
		Applications: []*Application{app},
		AuthPolicy: AuthFunc(func(context.Context, *Connection, *Application, string, []any) (string, error) {
			panic("auth backend exploded")
		}),
		OnConnect: func(*Connection) { panic("hook exploded") },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Connect(ctx, "app", &Client{Login: "u", Password: "p"}, dial)
	if !errors.Is(err, ErrInternalAPIError) {
		t.Fatalf("login with a panicking auth policy: %v, want code 16", err)
	}
	// The server survives both panics and serves the next client.
	conn, err := Connect(ctx, "app", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestServerForgetsExpiredSessions(t *testing.T) {
	gone := make(chan struct{}, 3)
	srv, dial := testServer(t, ServerOptions{ClientExpiration: time.Nanosecond, OnDisconnect: func(*Connection) { gone <- struct{}{} }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		conn, err := Connect(ctx, "testApp", nil, dial)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		select {
		case <-gone:
		case <-ctx.Done():
			t.Fatal("no OnDisconnect")
		}
	}
	// Each close sweeps what expired before it; after the last close at
	// most its own session can remain.
	srv.mu.Lock()
	n := len(srv.sessions)
	srv.mu.Unlock()
	if n > 1 {
		t.Fatalf("%d sessions kept in memory after their expiration", n)
	}
}

// gatedTransport blocks its first Send until released and records batches.
type gatedTransport struct {
	discard
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	sends   [][]string
}

type discard struct{}

func (discard) Start(Receiver)       {}
func (discard) Close() error         { return nil }
func (discard) RemoteAddr() net.Addr { return PipeAddr("gated") }

func (g *gatedTransport) Send(msg []byte) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	g.record([][]byte{msg})
	return nil
}

func (g *gatedTransport) SendBatch(msgs [][]byte) error {
	g.record(msgs)
	return nil
}

func (g *gatedTransport) record(msgs [][]byte) {
	var texts []string
	for _, m := range msgs {
		texts = append(texts, string(m))
	}
	g.mu.Lock()
	g.sends = append(g.sends, texts)
	g.mu.Unlock()
}

// TestQueuedMessagesGoOutAsOneBatch: what queues up while a message is
// being written is handed to a BatchSender in one call, in order.
func TestQueuedMessagesGoOutAsOneBatch(t *testing.T) {
	g := &gatedTransport{entered: make(chan struct{}), release: make(chan struct{})}
	ts := &transportState{c: newConnection(nil, &Client{}, &logger{}), t: g, closed: make(chan struct{})}
	t.Cleanup(ts.c.cancel)
	t.Cleanup(ts.c.closeCancel)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.send([]byte("a"))
	}()
	<-g.entered
	for _, m := range []string{"b", "c", "d"} {
		if ts.enqueue(queued{msg: []byte(m)}) {
			t.Fatal("a second writer was elected while one writes")
		}
	}
	close(g.release)
	<-done
	want := [][]string{{"a"}, {"b", "c", "d"}}
	if !reflect.DeepEqual(g.sends, want) {
		t.Fatalf("sends %v, want %v", g.sends, want)
	}
}
