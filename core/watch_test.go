package jstp

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// gate is a server method, gate.wait(n), that reports n on started and
// answers n once release receives (or its context ends).
type gate struct {
	started chan float64
	release chan struct{}
}

// gatedConn connects to a server that has gate.wait and calc.add.
func gatedConn(t *testing.T) (*Connection, *gate) {
	t.Helper()
	g := &gate{started: make(chan float64, 64), release: make(chan struct{}, 64)}
	app := MustNewApplication("gateApp")
	app.HandleRaw("gate", "wait", 1, func(ctx context.Context, c *Connection, args []any) ([]any, error) {
		n, _ := args[0].(float64)
		g.started <- n
		select {
		case <-g.release:
		case <-ctx.Done():
		}
		return []any{n}, nil
	})
	if err := app.Handle("calc", "add", func(a, b float64) float64 { return a + b }); err != nil {
		t.Fatal(err)
	}
	_, dial := testServer(t, ServerOptions{Applications: []*Application{app}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "gateApp", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, g
}

// recvWithin waits for one value from ch, failing the test after a deadline.
func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// watchState is a snapshot of the connection's ctxWatch and of the calls
// it watches.
type watchState struct {
	done    <-chan struct{}
	stopped bool // no AfterFunc registered
	n       int
	watched int // pending calls with watched set
	pending int
}

func (c *Connection) watchState() watchState {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := watchState{done: c.watch.done, stopped: c.watch.stop == nil, n: c.watch.n, pending: len(c.pending)}
	for _, p := range c.pending {
		if p.watched {
			ws.watched++
		}
	}
	return ws
}

// Calls made under one context that is then cancelled fail with
// context.Canceled: the first in a select of its own, the others through
// the connection's watch. The connection keeps working and its watch is
// left empty.
func TestWatchedContextCancelled(t *testing.T) {
	conn, g := gatedConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const calls = 6
	errs := make(chan error, calls)
	for i := range calls {
		go func() {
			_, err := conn.Call(ctx, "gate", "wait", i)
			errs <- err
		}()
		recvWithin(t, g.started, "a call to reach the server")
	}
	ws := conn.watchState()
	if ws.done != ctx.Done() || ws.n != calls-1 || ws.watched != calls-1 || ws.pending != calls || ws.stopped {
		t.Fatalf("watch with %d calls waiting = %+v, want the context watched for %d of them", calls, ws, calls-1)
	}
	cancel()
	for range calls {
		if err := recvWithin(t, errs, "a call to fail"); !errors.Is(err, context.Canceled) {
			t.Errorf("call under the cancelled context: err = %v, want context.Canceled", err)
		}
	}
	if ws := conn.watchState(); ws.done != nil || ws.n != 0 || ws.pending != 0 || !ws.stopped {
		t.Errorf("watch after the context ended = %+v, want empty", ws)
	}
	for range calls {
		g.release <- struct{}{} // late answers, for calls no longer pending
	}
	if res, err := conn.Call(context.Background(), "calc", "add", 1, 2); err != nil || res[0] != 3.0 {
		t.Errorf("call after the context ended = %v, %v", res, err)
	}
}

// Calls made under a context already past its deadline fail with
// DeadlineExceeded, whether they select on it or are watched (the watch's
// AfterFunc then runs at once).
func TestWatchedContextExpired(t *testing.T) {
	conn, g := gatedConn(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	<-ctx.Done()
	const calls = 4
	for i := range calls {
		errc := make(chan error, 1)
		go func() { _, err := conn.Call(ctx, "gate", "wait", i); errc <- err }()
		if err := recvWithin(t, errc, "a call to fail"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call %d under an expired context: err = %v, want DeadlineExceeded", i, err)
		}
		if ws := conn.watchState(); ws.n != 0 || ws.pending != 0 {
			t.Errorf("after call %d: watch = %+v, want nothing pending", i, ws)
		}
	}
	for range calls {
		recvWithin(t, g.started, "a call to reach the server")
		g.release <- struct{}{}
	}
}

// The watch follows the context that calls share and ignores contexts
// made for one call; answered calls leave it; Close empties it.
func TestWatchFollowsSharedContext(t *testing.T) {
	conn, g := gatedConn(t)
	add := func(ctx context.Context) {
		t.Helper()
		if res, err := conn.Call(ctx, "calc", "add", 1, 2); err != nil || res[0] != 3.0 {
			t.Fatalf("add = %v, %v", res, err)
		}
	}
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		add(ctx)
		cancel()
	}
	if ws := conn.watchState(); ws.done != nil || !ws.stopped {
		t.Errorf("after calls under contexts of their own: watch = %+v, want none", ws)
	}

	a, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	add(a)
	add(a)
	if ws := conn.watchState(); ws.done != a.Done() || ws.stopped || ws.n != 0 {
		t.Errorf("after two answered calls under one context: watch = %+v, want it watched with none waiting", ws)
	}

	// While a watched call waits under a, calls under b select.
	waiting := make(chan error, 1)
	go func() { _, err := conn.Call(a, "gate", "wait", 1); waiting <- err }()
	recvWithin(t, g.started, "the call under a to reach the server")
	b, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	add(b)
	add(b)
	if ws := conn.watchState(); ws.done != a.Done() || ws.n != 1 || ws.watched != 1 {
		t.Errorf("calls under b while one waits under a: watch = %+v, want a's with 1 waiting", ws)
	}
	g.release <- struct{}{}
	if err := recvWithin(t, waiting, "the call under a"); err != nil {
		t.Fatal(err)
	}

	// With nothing waiting under a, two calls under b move the watch.
	add(b)
	add(b)
	if ws := conn.watchState(); ws.done != b.Done() || ws.stopped || ws.n != 0 {
		t.Errorf("after two calls under b: watch = %+v, want b's", ws)
	}
	// a no longer reaches the connection: cancelling it fails nothing.
	cancelA()
	add(b)

	conn.Close()
	if ws := conn.watchState(); ws.done != nil || !ws.stopped {
		t.Errorf("after Close: watch = %+v, want none", ws)
	}
}

// chanCtx is a context of a type the context package does not know, so
// that context.AfterFunc watches it from a goroutine of its own until the
// AfterFunc is stopped: a watch Close forgot would leak that goroutine.
type chanCtx struct{ done chan struct{} }

func (chanCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c chanCtx) Done() <-chan struct{}     { return c.done }
func (c chanCtx) Value(any) any             { return nil }
func (c chanCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// The watch's AfterFunc is stopped when the watch moves to another
// context and when the connection closes.
func TestWatchStoppedOnClose(t *testing.T) {
	a, b := chanCtx{done: make(chan struct{})}, chanCtx{done: make(chan struct{})}
	t.Cleanup(func() { close(a.done); close(b.done) }) // runs last
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	conn, _ := gatedConn(t)
	for _, ctx := range []chanCtx{a, b} {
		for range 3 {
			if _, err := conn.Call(ctx, "calc", "add", 1, 2); err != nil {
				t.Fatal(err)
			}
		}
		if ws := conn.watchState(); ws.done != ctx.Done() || ws.stopped {
			t.Fatalf("watch = %+v, want the shared context watched", ws)
		}
		waitWatchers(t, 1) // b's replaced a's
	}
	conn.Close()
	waitWatchers(t, 0)
}

// waitWatchers waits until want goroutines of the context package watch a
// context of a type it does not know (one per AfterFunc on a chanCtx).
func waitWatchers(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		n := strings.Count(stacks, "context.(*cancelCtx).propagateCancel.func")
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines watch a context, want %d", n, want)
		}
		runtime.Gosched()
	}
}

// Calls under one shared context race its cancellation: each either
// succeeds or fails with context.Canceled, none hangs, and nothing is left
// pending or counted in the watch.
func TestWatchRace(t *testing.T) {
	conn, _ := gatedConn(t)
	for round := range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, failed := 0, 0
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					if w == 0 && i == 10+round*5 {
						cancel()
					}
					_, err := conn.Call(ctx, "calc", "add", w, i)
					mu.Lock()
					if err == nil {
						ok++
					} else if errors.Is(err, context.Canceled) {
						failed++
					} else {
						t.Errorf("call: %v", err)
					}
					mu.Unlock()
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		recvWithin(t, done, "the racing calls")
		cancel()
		if ok == 0 || failed == 0 {
			t.Logf("round %d: %d calls succeeded, %d cancelled", round, ok, failed)
		}
		if ws := conn.watchState(); ws.n != 0 || ws.pending != 0 || ws.watched != 0 {
			t.Fatalf("round %d: after every call returned, watch = %+v", round, ws)
		}
	}
}
