package jstp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchScript is a transport whose reads the test makes: it hands the test
// the engine's Receiver, reports ReadsBatches as told, and records every
// write, one entry per Send or SendBatch.
type batchScript struct {
	discard
	reads  bool
	recv   chan Receiver
	writes chan []string
}

func newBatchScript(reads bool) *batchScript {
	return &batchScript{reads: reads, recv: make(chan Receiver, 1), writes: make(chan []string, 64)}
}

func (b *batchScript) Start(r Receiver)   { b.recv <- r }
func (b *batchScript) ReadsBatches() bool { return b.reads }
func (b *batchScript) Send(msg []byte) error {
	b.writes <- []string{string(msg)}
	return nil
}

func (b *batchScript) SendBatch(msgs [][]byte) error {
	w := make([]string, len(msgs))
	for i, m := range msgs {
		w[i] = string(m)
	}
	b.writes <- w
	return nil
}

// nextWrite waits for the next write.
func (b *batchScript) nextWrite(t *testing.T, what string) []string {
	t.Helper()
	select {
	case w := <-b.writes:
		return w
	case <-time.After(5 * time.Second):
		t.Fatalf("no write: %s", what)
		return nil
	}
}

// noWrite fails the test if anything was written so far.
func (b *batchScript) noWrite(t *testing.T, when string) {
	t.Helper()
	select {
	case w := <-b.writes:
		t.Fatalf("%s: wrote %q", when, w)
	default:
	}
}

// inlineServer serves, on a batchScript, an application with quick (a
// NonBlocking method that counts its runs and answers its argument),
// plain (the same without the option) and wait (a worker method that
// waits for release). It returns the Receiver after the handshake.
func inlineServer(t *testing.T, reads bool) (b *batchScript, r Receiver, runs *atomic.Int64, release chan struct{}) {
	t.Helper()
	runs = new(atomic.Int64)
	release = make(chan struct{})
	app := MustNewApplication("testApp")
	app.HandleRaw("calc", "quick", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		runs.Add(1)
		return args, nil
	}, NonBlocking())
	app.HandleRaw("calc", "plain", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		runs.Add(1)
		return args, nil
	})
	app.HandleRaw("calc", "wait", 1, func(ctx context.Context, _ *Connection, args []any) ([]any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return args, nil
	})
	srv, _ := testServer(t, ServerOptions{Applications: []*Application{app}})
	b = newBatchScript(reads)
	srv.Serve(b)
	select {
	case r = <-b.recv:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not start the transport")
	}
	t.Cleanup(func() { r.Closed(nil) })
	r.Message([]byte("{handshake:[0,'testApp']}"))
	if w := b.nextWrite(t, "handshake answer"); len(w) != 1 || !strings.HasPrefix(w[0], "{handshake:[0],ok:") {
		t.Fatalf("handshake answer: %q", w)
	}
	if reads {
		r.(BatchEnder).EndBatch()
	}
	return b, r, runs, release
}

func call(id int, method string, arg int) []byte {
	return fmt.Appendf(nil, "{call:[%d,'calc'],%s:[%d]}", id, method, arg)
}

// TestNonBlockingRunsOnReader: over a transport that reads in batches, a
// NonBlocking method runs inside Message, and the answers to the calls of
// one read go out together at EndBatch, in order.
func TestNonBlockingRunsOnReader(t *testing.T) {
	b, r, runs, _ := inlineServer(t, true)
	for i := 1; i <= 3; i++ {
		r.Message(call(i, "quick", 10*i))
		if got := runs.Load(); got != int64(i) {
			t.Fatalf("after Message %d the method has run %d times: it does not run on the reader", i, got)
		}
	}
	b.noWrite(t, "before EndBatch")
	r.(BatchEnder).EndBatch()
	want := []string{"{callback:[1],ok:[10]}", "{callback:[2],ok:[20]}", "{callback:[3],ok:[30]}"}
	if w := b.nextWrite(t, "answers after EndBatch"); strings.Join(w, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %q, want %q in one write", w, want)
	}
	// The next read works the same way.
	r.Message(call(4, "quick", 40))
	r.(BatchEnder).EndBatch()
	if w := b.nextWrite(t, "answer of the second read"); len(w) != 1 || w[0] != "{callback:[4],ok:[40]}" {
		t.Errorf("wrote %q", w)
	}
	// An EndBatch after a read that ran nothing inline writes nothing.
	r.(BatchEnder).EndBatch()
	b.noWrite(t, "after an empty read")
}

// TestNonBlockingNeedsBatches: without ReadsBatches, or for a method
// without the option, calls run on workers as before: Message returns
// while the method still runs, and its answer goes out without EndBatch.
func TestNonBlockingNeedsBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reads  bool
		method string
	}{
		{"NonBlocking without ReadsBatches", false, "quick"},
		{"plain method with ReadsBatches", true, "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, r, _, _ := inlineServer(t, tc.reads)
			r.Message(call(1, tc.method, 7))
			if w := b.nextWrite(t, "the answer, with no EndBatch"); len(w) != 1 || w[0] != "{callback:[1],ok:[7]}" {
				t.Errorf("wrote %q", w)
			}
		})
	}
	t.Run("worker keeps the reader free", func(t *testing.T) {
		b, r, _, release := inlineServer(t, false)
		r.Message(call(1, "wait", 1)) // returns: the method waits on a worker
		r.Message(call(2, "quick", 2))
		if w := b.nextWrite(t, "the quick answer"); len(w) != 1 || w[0] != "{callback:[2],ok:[2]}" {
			t.Errorf("wrote %q", w)
		}
		close(release)
		if w := b.nextWrite(t, "the waiting call's answer"); len(w) != 1 || w[0] != "{callback:[1],ok:[1]}" {
			t.Errorf("wrote %q", w)
		}
	})
}

// TestEndBatchWritesHeldMessages: what other goroutines queue while the
// reader holds a batch open (the answer of a worker, here) waits for
// EndBatch and goes out with the batch; nothing is left behind.
func TestEndBatchWritesHeldMessages(t *testing.T) {
	g := &gatedTransport{entered: make(chan struct{}), release: make(chan struct{})}
	close(g.release) // never blocks
	ts := &transportState{c: newConnection(nil, &Client{}, &logger{}), t: g, closed: make(chan struct{}), readsBatches: true}
	t.Cleanup(ts.c.cancel)
	t.Cleanup(ts.c.closeCancel)
	ts.batchOpen, ts.batching = true, true // as runInline leaves them
	ts.send([]byte("inline answer"))
	done := make(chan struct{})
	go func() { // another goroutine's message
		defer close(done)
		ts.send([]byte("worker answer"))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("send blocked while a batch is open")
	}
	if len(g.sends) != 0 {
		t.Fatalf("written before EndBatch: %q", g.sends)
	}
	ts.EndBatch()
	if want := [][]string{{"inline answer", "worker answer"}}; fmt.Sprint(g.sends) != fmt.Sprint(want) {
		t.Errorf("writes %q, want %q", g.sends, want)
	}
	if ts.batching || ts.flushPending || ts.writing {
		t.Errorf("after EndBatch: batching %v, flushPending %v, writing %v", ts.batching, ts.flushPending, ts.writing)
	}
	// With the batch closed, a send writes at once again.
	ts.send([]byte("later"))
	if len(g.sends) != 2 {
		t.Errorf("a send after EndBatch was not written: %q", g.sends)
	}
}

// TestNonBlockingOverPipe: Pipe reads in batches, so NonBlocking methods
// run on its delivering goroutine; many callers at once, on both sides,
// mixed with calls that run on workers, all get their own answers.
func TestNonBlockingOverPipe(t *testing.T) {
	var inFlight, overlap atomic.Int32
	app := MustNewApplication("testApp")
	app.HandleRaw("calc", "quick", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		if inFlight.Add(1) > 1 {
			overlap.Store(1) // one connection's NonBlocking calls run one at a time
		}
		defer inFlight.Add(-1)
		return args, nil
	}, NonBlocking())
	app.HandleRaw("calc", "plain", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		return args, nil
	})
	conns := make(chan *Connection, 1)
	_, dial := testServer(t, ServerOptions{Applications: []*Application{app}, OnConnect: func(c *Connection) { conns <- c }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clientApp := MustNewApplication("client")
	clientApp.HandleRaw("cl", "twice", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		return []any{args[0].(float64) * 2}, nil
	}, NonBlocking())
	conn, err := Connect(ctx, "testApp", &Client{Application: clientApp}, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				n := float64(g*1000 + i)
				method := "quick"
				if i%3 == 0 {
					method = "plain"
				}
				res, err := conn.Call(ctx, "calc", method, n)
				if err != nil || len(res) != 1 || res[0] != n {
					errs <- fmt.Errorf("%s(%v) = %v, %v", method, n, res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if overlap.Load() != 0 {
		t.Error("NonBlocking calls of one connection overlapped: they did not run on the reader")
	}
	// The server calls the client's NonBlocking method.
	var sc *Connection
	select {
	case sc = <-conns:
	case <-ctx.Done():
		t.Fatal("no server-side connection")
	}
	res, err := sc.Call(ctx, "cl", "twice", 21)
	if err != nil || len(res) != 1 || res[0] != 42.0 {
		t.Errorf("server's call of cl.twice = %v, %v", res, err)
	}
}
