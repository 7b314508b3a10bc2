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
	"unsafe"

	"github.com/jstp-go/jstp/core/mdsf"
)

// These tests read leasesOut, which counts the lent buffers of the whole
// package: they do not run in parallel, and nothing else lends.

// lendOutcome is what a method saw of its call.
type lendOutcome struct {
	lent bool // a lease was out while it ran
	arg  string
}

// lendApp serves blob.echo, which answers with its argument and records
// whether it ran on lent memory, registered by register.
func lendApp(t *testing.T, register func(app *Application, fn func(arg string) string) error) (*Application, chan lendOutcome) {
	t.Helper()
	seen := make(chan lendOutcome, 1)
	app := MustNewApplication("lendApp")
	fn := func(arg string) string {
		seen <- lendOutcome{lent: leasesOut.Load() > 0, arg: strings.Clone(arg)}
		return arg
	}
	if err := register(app, fn); err != nil {
		t.Fatal(err)
	}
	return app, seen
}

func rawBorrowed(app *Application, fn func(string) string) error {
	app.HandleRaw("blob", "echo", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		s, _ := args[0].(string)
		return []any{fn(s)}, nil
	}, BorrowArgs())
	return nil
}

func TestBorrowArgs(t *testing.T) {
	large := strings.Repeat("0123456789abcdef", 100000/16)
	typed := func(app *Application, fn func(string) string) error {
		return app.Handle("blob", "echo", fn, BorrowArgs())
	}
	for _, tc := range []struct {
		name     string
		register func(*Application, func(string) string) error
		arg      string
		hook     bool
		raw      string // sent as is instead of a Call, when set
		wantLent bool
	}{
		{name: "raw method, large call", register: rawBorrowed, arg: large, wantLent: true},
		{name: "typed method, large call", register: typed, arg: large, wantLent: true},
		{name: "Interface with the option", register: func(app *Application, fn func(string) string) error {
			return app.Interface("blob", echoer{fn}, BorrowArgs())
		}, arg: large, wantLent: true},
		{name: "just above the threshold", register: rawBorrowed, arg: strings.Repeat("x", lendMin), wantLent: true},
		{name: "small call", register: rawBorrowed, arg: "short"},
		{name: "without the option", register: func(app *Application, fn func(string) string) error {
			return app.Handle("blob", "echo", fn)
		}, arg: large},
		{name: "hook set", register: rawBorrowed, arg: large, hook: true},
		{name: "message not in the canonical shape", register: rawBorrowed, arg: large,
			raw: "{call:[1,'blob'], echo:['" + large + "']}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, seen := lendApp(t, tc.register)
			opts := ServerOptions{Applications: []*Application{app}}
			if tc.hook {
				opts.Hook = func(LogEvent) {}
			}
			srv, dial := testServer(t, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got string
			if tc.raw != "" {
				got = rawCall(ctx, t, srv, "lendApp", tc.raw)
			} else {
				conn, err := Connect(ctx, "lendApp", nil, dial)
				if err != nil {
					t.Fatal(err)
				}
				res, err := conn.Call(ctx, "blob", "echo", tc.arg)
				if err != nil {
					t.Fatal(err)
				}
				got, _ = res[0].(string)
				conn.Close()
			}
			out := <-seen
			if out.arg != tc.arg {
				t.Errorf("the method got %d bytes, not the %d sent", len(out.arg), len(tc.arg))
			}
			if got != tc.arg {
				t.Errorf("the answer has %d bytes, not the %d sent", len(got), len(tc.arg))
			}
			if out.lent != tc.wantLent {
				t.Errorf("ran on lent memory: %v, want %v", out.lent, tc.wantLent)
			}
			// Shutdown waits for the calls' tasks, which release the leases.
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if n := leasesOut.Load(); n != 0 {
				t.Errorf("%d leases not released", n)
			}
		})
	}
}

type echoer struct{ fn func(string) string }

func (e echoer) Echo(s string) string { return e.fn(s) }

// rawPeer connects to srv over a pipe and handshakes with app: the test
// then sends raw messages on the pipe and reads what comes back from the
// receiver.
func rawPeer(ctx context.Context, t *testing.T, srv *Server, app string) (*PipeEnd, *chanReceiver) {
	t.Helper()
	a, b := Pipe()
	srv.Serve(b)
	rec := newChanReceiver()
	a.Start(rec)
	t.Cleanup(func() { a.Close() })
	if err := a.Send([]byte("{handshake:[0,'" + app + "']}")); err != nil {
		t.Fatal(err)
	}
	if reply := rec.next(ctx, t); !strings.HasPrefix(reply, "{handshake:[0],ok:") {
		t.Fatalf("handshake answered with %.100s", reply)
	}
	return a, rec
}

// rawCall sends msg as is after a handshake with app and returns the
// string its callback carries.
func rawCall(ctx context.Context, t *testing.T, srv *Server, app, msg string) string {
	t.Helper()
	a, rec := rawPeer(ctx, t, srv, app)
	if err := a.Send([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	reply := rec.next(ctx, t)
	v, err := mdsf.ParseString(reply)
	if err != nil {
		t.Fatalf("callback %.100s: %v", reply, err)
	}
	obj, _ := v.(mdsf.Object)
	if len(obj) != 2 || obj[1].Key != "ok" {
		t.Fatalf("callback %.100s", reply)
	}
	res, _ := obj[1].Value.([]any)
	if len(res) != 1 {
		t.Fatalf("callback %.100s", reply)
	}
	s, _ := res[0].(string)
	return s
}

// chanReceiver hands what a transport delivers to a test.
type chanReceiver struct {
	msgs   chan string
	closed chan error
}

func newChanReceiver() *chanReceiver {
	return &chanReceiver{msgs: make(chan string, 16), closed: make(chan error, 1)}
}

func (r *chanReceiver) Message(data []byte) { r.msgs <- string(data) }
func (r *chanReceiver) Closed(err error)    { r.closed <- err }

func (r *chanReceiver) next(ctx context.Context, t *testing.T) string {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.closed:
		t.Fatalf("transport closed: %v", err)
	case <-ctx.Done():
		t.Fatal("no message in time")
	}
	return ""
}

// TestBorrowArgsConcurrentCalls holds several large calls to a lending
// method at once and checks that none of them sees another's argument,
// in a first round and in a second that reuses the pooled buffers.
func TestBorrowArgsConcurrentCalls(t *testing.T) {
	const calls = 8
	var (
		mu      sync.Mutex
		entered int
		gate    chan struct{}
		lentMin int64 = 1 << 62 // leases out when all calls of a round hold theirs
	)
	app := MustNewApplication("lendApp")
	app.HandleRaw("blob", "hash", 1, func(ctx context.Context, _ *Connection, args []any) ([]any, error) {
		s, _ := args[0].(string)
		before := sha256.Sum256([]byte(s))
		mu.Lock()
		g := gate
		if entered++; entered == calls {
			lentMin = min(lentMin, leasesOut.Load())
			close(g)
		}
		mu.Unlock()
		select {
		case <-g: // every call of the round holds its arguments now
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if after := sha256.Sum256([]byte(s)); after != before {
			return nil, errors.New("the argument changed while the method ran")
		}
		return []any{fmt.Sprintf("%x", before)}, nil
	}, BorrowArgs())
	srv, dial := testServer(t, ServerOptions{Applications: []*Application{app}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "lendApp", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		mu.Lock()
		entered, gate = 0, make(chan struct{})
		mu.Unlock()
		errs := make(chan error, calls)
		for i := range calls {
			// Each argument is its own, and of another size class than
			// some of the others.
			arg := strings.Repeat(fmt.Sprintf("%d.%d|", round, i), (lendMin+i*20000)/4)
			go func() {
				res, err := conn.Call(ctx, "blob", "hash", arg)
				if err == nil && (len(res) != 1 || res[0] != fmt.Sprintf("%x", sha256.Sum256([]byte(arg)))) {
					err = fmt.Errorf("call %d of round %d answered %.20v", i, round, res)
				}
				errs <- err
			}()
		}
		for range calls {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	conn.Close()
	if lentMin < calls {
		t.Errorf("at most %d leases out while %d calls held their arguments", lentMin, calls)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := leasesOut.Load(); n != 0 {
		t.Errorf("%d leases not released", n)
	}
}

// TestBorrowArgsBadPayload sends a large call that does not parse to a
// lending method: the connection is closed, as for any message that does
// not parse, and no lease is left behind.
func TestBorrowArgsBadPayload(t *testing.T) {
	app, _ := lendApp(t, rawBorrowed)
	srv, _ := testServer(t, ServerOptions{Applications: []*Application{app}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, rec := rawPeer(ctx, t, srv, "lendApp")
	if err := a.Send([]byte("{call:[1,'blob'],echo:['" + strings.Repeat("z", 2*lendMin) + "',}]}")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-rec.msgs:
		t.Fatalf("answered %.100s", m)
	case <-rec.closed:
	case <-ctx.Done():
		t.Fatal("the connection stayed open")
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := leasesOut.Load(); n != 0 {
		t.Errorf("%d leases not released", n)
	}
}

func TestBufClass(t *testing.T) {
	for _, tc := range []struct {
		n     int
		class int
		ok    bool
	}{
		{0, 0, true},
		{1, 0, true},
		{lendMin, 0, true},
		{lendMin + 1, 1, true},
		{2 * lendMin, 1, true},
		{100000, 5, true}, // 128 KiB
		{1 << poolMaxShift, poolMaxShift - poolMinShift, true},
		{1<<poolMaxShift + 1, 0, false},
	} {
		class, ok := bufClass(tc.n)
		if class != tc.class || ok != tc.ok {
			t.Errorf("bufClass(%d) = %d, %v; want %d, %v", tc.n, class, ok, tc.class, tc.ok)
		}
		if ok && 1<<(poolMinShift+class) < tc.n {
			t.Errorf("class %d is too small for %d bytes", class, tc.n)
		}
	}
}

// TestBorrowArgsAppUpdatedInBetween: when the applications are updated
// between the parse of a lent call and its dispatch, and the method it now
// goes to does not borrow, the method gets arguments of its own.
func TestBorrowArgsAppUpdatedInBetween(t *testing.T) {
	arg := strings.Repeat("u", 2*lendMin)
	v1, _ := NewApplication("lendApp@1.0.0")
	v1.HandleRaw("blob", "keep", 1, func(context.Context, *Connection, []any) ([]any, error) {
		return nil, errors.New("the old application ran the call")
	}, BorrowArgs())
	v2, _ := NewApplication("lendApp@1.0.1")
	var lentBuf []byte // the lease the call was parsed into
	kept := make(chan lendOutcome, 1)
	v2.HandleRaw("blob", "keep", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		s, _ := args[0].(string)
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(lentBuf)))
		inLease := p >= start && p < start+uintptr(len(lentBuf))
		kept <- lendOutcome{lent: inLease, arg: s} // kept, as it may: no BorrowArgs
		return nil, nil
	})
	srv, dial := testServer(t, ServerOptions{Applications: []*Application{v1}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "lendApp@^1.0.0", nil, dial) // a range: updates apply to it
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hook := func(l *argLease) {
		lentBuf = l.buf
		if err := srv.UpdateApplications(v2); err != nil {
			t.Error(err)
		}
	}
	testHookLent.Store(&hook)
	t.Cleanup(func() { testHookLent.Store(nil) })
	if _, err := conn.Call(ctx, "blob", "keep", arg); err != nil {
		t.Fatal(err)
	}
	testHookLent.Store(nil)
	out := <-kept
	if lentBuf == nil {
		t.Fatal("the call was not parsed into a lent buffer")
	}
	if out.lent {
		t.Error("the method without BorrowArgs got a string in the lent buffer")
	}
	// Under the race detector a given-back lent buffer is overwritten, so
	// a string that still shared it would read differently by now.
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if out.arg != arg {
		t.Errorf("the kept argument changed: %.20q...", out.arg)
	}
	if n := leasesOut.Load(); n != 0 {
		t.Errorf("%d leases not released", n)
	}
}
