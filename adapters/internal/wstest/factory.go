package wstest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// Server is what an adapter's WebSocket server offers Factory: serving on
// a listener and a graceful shutdown.
type Server interface {
	Serve(l net.Listener) error
	Shutdown(ctx context.Context) error
}

// Factory builds an adapter's conformance.Factory. name prefixes failure
// messages (as "name: listen: ..."); wrap puts the adapter's WebSocket
// server in front of a jstp.Server; dial opens a client transport to a
// ws:// URL with the adapter's default settings.
//
// Listen serves on a fresh 127.0.0.1 port until the test ends and returns
// the ws:// URL; its cleanup shuts the WebSocket server down, leaving the
// jstp.Server to its owner. Break is the package's Break.
func Factory(name string, wrap func(*jstp.Server) Server, dial func(ctx context.Context, addr string) (jstp.Transport, error)) conformance.Factory {
	listen := func(t testing.TB, srv *jstp.Server) string {
		t.Helper()
		ws := wrap(srv)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("%s: listen: %v", name, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			ws.Serve(l)
		}()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := ws.Shutdown(ctx); err != nil {
				t.Errorf("%s: shutdown: %v", name, err)
			}
			<-done
		})
		return "ws://" + l.Addr().String() + "/"
	}
	return conformance.Factory{Listen: listen, Dial: dial, Break: Break}
}

// Break severs tr without a closing handshake if it offers a Break method
// (the adapters' client transports do), and falls back to Close otherwise.
func Break(tr jstp.Transport) {
	if b, ok := tr.(interface{ Break() }); ok {
		b.Break()
		return
	}
	tr.Close()
}
