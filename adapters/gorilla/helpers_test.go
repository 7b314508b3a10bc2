package gorilla

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/internal/wstest"
)

// The recorder, fake engine and raw WebSocket peer the tests use are in
// wstest, shared with the other adapters.

const waitLimit = wstest.WaitLimit

// startServer serves a fake engine on a fresh 127.0.0.1 port until the test
// ends, and returns the server, the engine and the ws:// URL.
func startServer(t testing.TB, cfg *ServerConfig) (*Server, *wstest.FakeEngine, string) {
	t.Helper()
	eng := wstest.NewFakeEngine()
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
func dial(t testing.TB, url string, config *Config) (*transport, *wstest.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	tr, err := Dialer(config, url)(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rec := wstest.NewRecorder()
	tr.Start(rec)
	t.Cleanup(func() {
		tr.Close()
		select {
		case <-rec.Done:
		case <-time.After(waitLimit):
			t.Error("client transport not closed in time")
		}
	})
	return tr.(*transport), rec
}
