package nhooyr

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

const waitLimit = 10 * time.Second

// recorder is a jstp.Receiver that hands what it gets to channels.
type recorder struct {
	msgs    chan []byte
	closed  chan error
	done    chan struct{} // closed by the first Closed call
	ncalled atomic.Int32
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan []byte, 64), closed: make(chan error, 2), done: make(chan struct{})}
}

func (r *recorder) Message(data []byte) { r.msgs <- append([]byte(nil), data...) }

func (r *recorder) Closed(err error) {
	if r.ncalled.Add(1) == 1 {
		close(r.done)
	}
	r.closed <- err
}

func (r *recorder) message(t testing.TB) []byte {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(waitLimit):
		t.Fatal("no message in time")
		return nil
	}
}

func (r *recorder) waitClosed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(waitLimit):
		t.Fatal("Receiver.Closed not called in time")
		return nil
	}
}

// fakeEngine stands in for jstp.Server: it starts each transport with a
// recorder and hands both to the test.
type fakeEngine struct {
	served chan served

	mu  sync.Mutex
	all []served

	shutdowns atomic.Int32
}

type served struct {
	tr  jstp.Transport
	rec *recorder
}

func newFakeEngine() *fakeEngine { return &fakeEngine{served: make(chan served, 16)} }

func (e *fakeEngine) Serve(t jstp.Transport) {
	s := served{tr: t, rec: newRecorder()}
	e.mu.Lock()
	e.all = append(e.all, s)
	e.mu.Unlock()
	t.Start(s.rec)
	e.served <- s
}

func (e *fakeEngine) Shutdown(context.Context) error {
	e.shutdowns.Add(1)
	return e.Close()
}

func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.all {
		s.tr.Close()
	}
	return nil
}

func (e *fakeEngine) next(t testing.TB) served {
	t.Helper()
	select {
	case s := <-e.served:
		return s
	case <-time.After(waitLimit):
		t.Fatal("server got no connection in time")
		return served{}
	}
}

// startServer serves a fake engine on a fresh 127.0.0.1 port until the test
// ends, and returns the server, the engine and the ws:// URL.
func startServer(t testing.TB, cfg *ServerConfig) (*Server, *fakeEngine, string) {
	t.Helper()
	eng := newFakeEngine()
	srv := newServer(eng, true, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, eng, "ws://" + l.Addr().String() + "/"
}

// dial opens a client transport to url and starts it with a recorder.
func dial(t testing.TB, url string, config *Config) (*transport, *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	tr, err := Dialer(config, url)(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rec := newRecorder()
	tr.Start(rec)
	t.Cleanup(func() {
		tr.Close()
		select {
		case <-rec.done:
		case <-time.After(waitLimit):
			t.Error("client transport not closed in time")
		}
	})
	return tr.(*transport), rec
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
