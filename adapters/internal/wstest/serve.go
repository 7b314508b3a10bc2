package wstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// StartServer makes a server with newServer over a new FakeEngine and
// serves it on a fresh 127.0.0.1 port as ServeOn does. It returns the
// server, the engine and the ws:// URL.
func StartServer[S Server](t testing.TB, newServer func(*FakeEngine) S) (S, *FakeEngine, string) {
	t.Helper()
	l := LocalListener(t)
	srv, eng := ServeOn(t, l, newServer)
	return srv, eng, "ws://" + l.Addr().String() + "/"
}

// ServeOn makes a server with newServer over a new FakeEngine and serves
// it on l until the test ends, when it is shut down and Serve must have
// returned http.ErrServerClosed.
func ServeOn[S Server](t testing.TB, l net.Listener, newServer func(*FakeEngine) S) (S, *FakeEngine) {
	t.Helper()
	eng := NewFakeEngine()
	srv := newServer(eng)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, eng
}

// LocalListener listens on a fresh 127.0.0.1 TCP port, failing t if it
// cannot.
func LocalListener(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// CountConn counts the writes that reach a connection in Writes.
type CountConn struct {
	net.Conn
	Writes *atomic.Int64
}

// Write counts the call and writes p to the connection.
func (c CountConn) Write(p []byte) (int, error) {
	c.Writes.Add(1)
	return c.Conn.Write(p)
}

// CountListener wraps what it accepts in a CountConn counting in Writes.
type CountListener struct {
	net.Listener
	Writes *atomic.Int64
}

// Accept accepts a connection and wraps it in a CountConn.
func (l CountListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return CountConn{c, l.Writes}, nil
}

// RepeatMsgs returns n distinct JSTP messages of size bytes each.
func RepeatMsgs(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		m := fmt.Sprintf("{callback:[%d],ok:['", i)
		out[i] = []byte(m + strings.Repeat("v", size-len(m)-3) + "']}")
	}
	return out
}

// Dial opens a client transport with dialer and starts it with a new
// Recorder. When the test ends the transport is closed, and Closed must
// be called within WaitLimit.
func Dial(t testing.TB, dialer jstp.Dialer) (jstp.Transport, *Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	tr, err := dialer(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rec := NewRecorder()
	tr.Start(rec)
	t.Cleanup(func() {
		tr.Close()
		select {
		case <-rec.Done:
		case <-time.After(WaitLimit):
			t.Error("client transport not closed in time")
		}
	})
	return tr, rec
}
