package jstp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests read sendBufsOut, which counts the pooled send buffers of the
// whole package: they do not run in parallel, and the other tests send no
// large calls.

// hashApp serves blob.hash, which answers with the SHA-256 of its string
// argument and whether a pooled send buffer was out while it ran.
func hashApp() *Application {
	app := MustNewApplication("hashApp")
	app.HandleRaw("blob", "hash", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		s, _ := args[0].(string)
		return []any{fmt.Sprintf("%x", sha256.Sum256([]byte(s))), sendBufsOut.Load() > 0}, nil
	})
	return app
}

func hashOf(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

// callHash calls blob.hash with arg and checks the answer; it returns
// whether the call went out in a pooled buffer.
func callHash(ctx context.Context, conn *Connection, arg string) (pooled bool, err error) {
	res, err := conn.Call(ctx, "blob", "hash", arg)
	if err != nil {
		return false, err
	}
	if len(res) != 2 || res[0] != hashOf(arg) {
		return false, fmt.Errorf("the server read another argument than the %d bytes sent", len(arg))
	}
	pooled, _ = res[1].(bool)
	return pooled, nil
}

func TestPooledSendBuffers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		arg        string
		hook       bool
		wantPooled bool
	}{
		{name: "large ASCII", arg: strings.Repeat("a", 100000), wantPooled: true},
		{name: "at the threshold", arg: strings.Repeat("b", sendPoolMin), wantPooled: true},
		{name: "some escapes", arg: strings.Repeat("it's é, \"plain\" text\n", 3000), wantPooled: true},
		{name: "outgrows its buffer", arg: strings.Repeat("\x01", 2*sendPoolMin)},
		{name: "small", arg: strings.Repeat("c", sendPoolMin-1)},
		{name: "hook set", arg: strings.Repeat("d", 100000), hook: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, dial := testServer(t, ServerOptions{Applications: []*Application{hashApp()}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var opts *Client
			if tc.hook {
				opts = &Client{Hook: func(LogEvent) {}}
			}
			conn, err := Connect(ctx, "hashApp", opts, dial)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for range 3 { // the second and third reuse the buffer
				pooled, err := callHash(ctx, conn, tc.arg)
				if err != nil {
					t.Fatal(err)
				}
				if pooled != tc.wantPooled {
					t.Fatalf("sent from a pooled buffer: %v, want %v", pooled, tc.wantPooled)
				}
				// The call has returned: its message is delivered (the
				// session let go) and written (the writer, this goroutine,
				// let go before waiting for the answer).
				if n := sendBufsOut.Load(); n != 0 {
					t.Fatalf("%d send buffers not given back", n)
				}
			}
		})
	}
}

// TestPooledSendBuffersConcurrent makes large calls of different sizes
// from several goroutines at once, so that buffers are given back and
// taken again while others are being written and answered.
func TestPooledSendBuffersConcurrent(t *testing.T) {
	_, dial := testServer(t, ServerOptions{Applications: []*Application{hashApp()}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "hashApp", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const callers, calls = 8, 6
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				arg := strings.Repeat(fmt.Sprintf("%d:%d;", g, i), (sendPoolMin+g*9000+i*17000)/4)
				if _, err := callHash(ctx, conn, arg); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := sendBufsOut.Load(); n != 0 {
		t.Fatalf("%d send buffers not given back", n)
	}
}

// TestPooledSendBufferResend sends a large call while the connection is
// down: it waits in the session alone, and goes out from its pooled buffer
// when the session is resumed.
func TestPooledSendBufferResend(t *testing.T) {
	reconnected := make(chan *Connection, 4)
	srv, _ := testServer(t, ServerOptions{Applications: []*Application{hashApp()}, OnReconnect: func(c *Connection) { reconnected <- c }})
	d := &breakableDialer{srv: srv}
	gate := make(chan struct{})
	redialing := make(chan struct{}, 1)
	var gateOnce sync.Once
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gated := func(ctx context.Context) (Transport, error) {
		d.mu.Lock()
		first := d.n == 0
		d.mu.Unlock()
		if !first {
			// A reconnection: the old transport is gone.
			redialing <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return d.dial(ctx)
	}
	conn, err := Connect(ctx, "hashApp", &Client{Reconnector: fastReconnector()}, gated)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer gateOnce.Do(func() { close(gate) })
	arg := strings.Repeat("resend me ", 10000)
	if _, err := callHash(ctx, conn, arg); err != nil {
		t.Fatal(err)
	}
	d.breakLast()
	select {
	case <-redialing:
	case <-ctx.Done():
		t.Fatal("no reconnection attempt")
	}
	numbered := make(chan struct{}, 1)
	hook := func() { numbered <- struct{}{} }
	testHookNumbered.Store(&hook)
	t.Cleanup(func() { testHookNumbered.Store(nil) })
	done := make(chan error, 1)
	go func() {
		pooled, err := callHash(ctx, conn, arg+"again")
		if err == nil && !pooled {
			err = fmt.Errorf("the call was not sent from a pooled buffer")
		}
		done <- err
	}()
	select {
	case <-numbered: // buffered in the session, with no transport to take it
	case <-ctx.Done():
		t.Fatal("the call was never made")
	}
	testHookNumbered.Store(nil)
	if n := sendBufsOut.Load(); n != 1 {
		t.Fatalf("%d send buffers out while the call waits in the session, want 1", n)
	}
	gateOnce.Do(func() { close(gate) })
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("no resume")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := sendBufsOut.Load(); n != 0 {
		t.Fatalf("%d send buffers not given back", n)
	}
}

// TestPooledCallbackBuffers: large results are sent from a pooled buffer,
// which the send queue gives back once written.
func TestPooledCallbackBuffers(t *testing.T) {
	large := strings.Repeat("r", 100000)
	for _, tc := range []struct {
		name        string
		result      string
		fail        bool
		unencodable bool // a second result mdsf cannot write: answered with code 16
		hook        bool
		wantPooled  bool // taken from the pool (and, like every buffer, given back)
	}{
		{name: "large result", result: large, wantPooled: true},
		{name: "small result", result: "small"},
		{name: "error", result: large, fail: true},
		{name: "hook set", result: large, hook: true},
		{name: "large result that cannot be encoded", result: large, unencodable: true, wantPooled: true},
		{name: "small result that cannot be encoded", result: "small", unencodable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := MustNewApplication("resultApp")
			app.HandleRaw("blob", "get", 0, func(context.Context, *Connection, []any) ([]any, error) {
				switch {
				case tc.fail:
					return nil, NewError(100, "no", tc.result)
				case tc.unencodable:
					return []any{tc.result, make(chan int)}, nil
				}
				return []any{tc.result}, nil
			})
			opts := ServerOptions{Applications: []*Application{app}}
			if tc.hook {
				opts.Hook = func(LogEvent) {}
			}
			srv, dial := testServer(t, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := Connect(ctx, "resultApp", nil, dial)
			if err != nil {
				t.Fatal(err)
			}
			taken := sendBufsTaken.Load()
			const calls = 3
			for range calls {
				res, err := conn.Call(ctx, "blob", "get")
				if tc.unencodable {
					if !errors.Is(err, ErrInternalAPIError) {
						t.Fatalf("want code 16 for results that cannot be encoded, got %v", err)
					}
					continue
				}
				if tc.fail {
					var re *RemoteError
					if !errors.As(err, &re) || re.Code != 100 {
						t.Fatalf("want the method's error, got %v", err)
					}
					continue
				}
				if err != nil || len(res) != 1 || res[0] != tc.result {
					t.Fatalf("got %d results, %v", len(res), err)
				}
			}
			conn.Close()
			// Shutdown waits for the calls' workers, which wrote the
			// answers and let go of their buffers.
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if tc.wantPooled {
				want = calls
			}
			if got := sendBufsTaken.Load() - taken; got != want {
				t.Errorf("%d answers sent from pooled buffers, want %d", got, want)
			}
			if n := sendBufsOut.Load(); n != 0 {
				t.Errorf("%d send buffers not given back", n)
			}
		})
	}
}
