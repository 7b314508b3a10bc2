package gobwas

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor bounds every wait for an expected event.
const waitFor = 5 * time.Second

// recorder is a jstp.Receiver that records what a Transport delivers and
// checks the Receiver contract: Closed once, no Message after it, never
// two calls at once.
type recorder struct {
	t       testing.TB
	msgs    chan []byte
	closed  chan error
	ncalls  atomic.Int32
	nclosed atomic.Int32
	inCall  atomic.Bool
	onMsg   func(data []byte) // optional, runs inside Message
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, msgs: make(chan []byte, 1024), closed: make(chan error, 2)}
}

func (r *recorder) enter() {
	if !r.inCall.CompareAndSwap(false, true) {
		r.t.Errorf("receiver called concurrently")
	}
}

func (r *recorder) Message(data []byte) {
	r.enter()
	defer r.inCall.Store(false)
	if r.nclosed.Load() != 0 {
		r.t.Errorf("Message after Closed")
	}
	r.ncalls.Add(1)
	if r.onMsg != nil {
		r.onMsg(data)
	}
	r.msgs <- append([]byte(nil), data...)
}

func (r *recorder) Closed(err error) {
	r.enter()
	defer r.inCall.Store(false)
	if r.nclosed.Add(1) != 1 {
		r.t.Errorf("Closed called twice (now with %v)", err)
	}
	r.closed <- err
}

func (r *recorder) next(t testing.TB) []byte {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.closed:
		t.Fatalf("closed (%v) while waiting for a message", err)
	case <-time.After(waitFor):
		t.Fatal("no message")
	}
	return nil
}

func (r *recorder) waitClosed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(waitFor):
		t.Fatal("Closed not called")
	}
	return nil
}

// fakeEngine stands in for a jstp.Server: it starts every transport with
// a recorder and hands both to the test.
type fakeEngine struct {
	t     testing.TB
	conns chan served
	mu    sync.Mutex
	shut  bool
	all   []*Transport
}

type served struct {
	tr  *Transport
	rec *recorder
}

func newFakeEngine(t testing.TB) *fakeEngine {
	return &fakeEngine{t: t, conns: make(chan served, 1024)}
}

func (e *fakeEngine) Serve(tr jstp.Transport) {
	e.mu.Lock()
	shut := e.shut
	if !shut {
		e.all = append(e.all, tr.(*Transport))
	}
	e.mu.Unlock()
	if shut {
		tr.Close()
		return
	}
	rec := newRecorder(e.t)
	tr.Start(rec)
	e.conns <- served{tr.(*Transport), rec}
}

func (e *fakeEngine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.shut = true
	all := e.all
	e.mu.Unlock()
	for _, tr := range all {
		tr.Close()
	}
	return nil
}

func (e *fakeEngine) Close() error { return e.Shutdown(context.Background()) }

func (e *fakeEngine) next(t testing.TB) served {
	t.Helper()
	select {
	case s := <-e.conns:
		return s
	case <-time.After(waitFor):
		t.Fatal("no connection served")
	}
	return served{}
}

// startServer serves a fake engine on a fresh 127.0.0.1 port.
func startServer(t testing.TB, cfg *ServerConfig) (*Server, *fakeEngine, string) {
	t.Helper()
	eng := newFakeEngine(t)
	s := newServer(eng, true, cfg, 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	scheme := "ws://"
	if cfg != nil && cfg.TLSConfig != nil {
		scheme = "wss://"
	}
	return s, eng, scheme + l.Addr().String() + "/"
}

// eventually waits, bounded, for a condition that has no event to wait on
// (such as a goroutine count settling).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
