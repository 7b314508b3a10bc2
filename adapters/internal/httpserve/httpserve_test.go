package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConn is a tracked connection that ends (calls Forget) when closed or
// cut, unless told to ignore Close.
type fakeConn struct {
	s           *Servers[*fakeConn]
	ignoreClose bool

	once            sync.Once
	closed, cutDone atomic.Bool
}

func (c *fakeConn) end() { c.once.Do(func() { c.s.Forget(c) }) }

func (c *fakeConn) Close() error {
	c.closed.Store(true)
	if !c.ignoreClose {
		c.end()
	}
	return nil
}

func (c *fakeConn) Cut() {
	c.cutDone.Store(true)
	c.end()
}

type fakeEngine struct{ shutdowns, closes atomic.Int32 }

func (e *fakeEngine) Shutdown(context.Context) error { e.shutdowns.Add(1); return nil }
func (e *fakeEngine) Close() error                   { e.closes.Add(1); return nil }

func open(t *testing.T, s *Servers[*fakeConn], ignoreClose bool) *fakeConn {
	t.Helper()
	if !s.Admit() {
		t.Fatal("Admit refused before shutdown")
	}
	c := &fakeConn{s: s, ignoreClose: ignoreClose}
	if !s.Track(c) {
		t.Fatal("Track refused before shutdown")
	}
	return c
}

func TestServeAndShutdown(t *testing.T) {
	eng := &fakeEngine{}
	var s *Servers[*fakeConn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			t.Errorf("request over HTTP/%d", r.ProtoMajor)
		}
		w.Write([]byte("hi"))
	})
	s = New[*fakeConn](h, Options{ReadHeaderTimeout: time.Second, Engine: eng})
	if s.Addr() != nil {
		t.Fatal("Addr before Serve")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := s.Addr(); got == nil || got.String() != l.Addr().String() {
		t.Fatalf("Addr = %v, want %v", got, l.Addr())
	}

	c := open(t, s, false)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !c.closed.Load() || c.cutDone.Load() {
		t.Fatal("a connection was not closed gracefully by Shutdown")
	}
	if eng.shutdowns.Load() != 1 {
		t.Fatal("the engine was not shut down")
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if s.Admit() {
		t.Fatal("Admit accepted after Shutdown")
	}
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := s.Serve(l2); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestShutdownCutsWhatOutlivesContext(t *testing.T) {
	s := New[*fakeConn](http.NotFoundHandler(), Options{})
	c := open(t, s, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want %v", err, context.DeadlineExceeded)
	}
	if !c.closed.Load() || !c.cutDone.Load() {
		t.Fatal("the stuck connection was not closed and then cut")
	}
}

func TestCloseCuts(t *testing.T) {
	eng := &fakeEngine{}
	s := New[*fakeConn](http.NotFoundHandler(), Options{Engine: eng})
	c := open(t, s, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c.closed.Load() || !c.cutDone.Load() {
		t.Fatal("Close did not cut the connection (or closed it gracefully)")
	}
	if eng.closes.Load() != 1 || eng.shutdowns.Load() != 0 {
		t.Fatal("the engine was not closed")
	}
}

func TestAdmitTrackAbandon(t *testing.T) {
	s := New[*fakeConn](http.NotFoundHandler(), Options{})
	// An admitted connection that fails to come up is abandoned.
	if !s.Admit() {
		t.Fatal("Admit refused")
	}
	s.Abandon()
	// One admitted before a shutdown but tracked after is refused, and
	// the shutdown waits until it ends.
	if !s.Admit() {
		t.Fatal("Admit refused")
	}
	late := &fakeConn{s: s}
	began := make(chan struct{})
	s.mu.Lock()
	s.shutdownBegan = func() { close(began) }
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	<-began
	if s.Track(late) {
		t.Fatal("Track accepted after Shutdown began")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with an admitted connection alive", err)
	case <-time.After(20 * time.Millisecond):
	}
	late.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
