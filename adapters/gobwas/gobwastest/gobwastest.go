// Package gobwastest provides the gobwas adapter's conformance.Factory, for
// the adapter's own conformance run and for cross-adapter matrices (a
// gobwas client against another adapter's server, and the other way
// round). It is test support: production code has no use for it.
package gobwastest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// Factory returns the conformance.Factory of the gobwas adapter: Listen,
// Dial and Break below.
func Factory() conformance.Factory {
	return conformance.Factory{Listen: Listen, Dial: Dial, Break: Break}
}

// Listen serves srv over WebSocket (epoll-driven) on a fresh 127.0.0.1 port
// until the test ends and returns its ws:// URL. Cleanup shuts the
// WebSocket server down, poller included, leaving srv to its owner.
func Listen(t testing.TB, srv *jstp.Server) string {
	t.Helper()
	s := gobwas.Wrap(srv, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gobwastest: listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("gobwastest: shutdown: %v", err)
		}
		<-done
	})
	return "ws://" + l.Addr().String() + "/"
}

// Dial opens a gobwas client transport to the ws:// URL addr with the
// default settings.
func Dial(ctx context.Context, addr string) (jstp.Transport, error) {
	return gobwas.Dialer(nil, addr)(ctx)
}

// Break severs tr, a transport made by Dial, without a closing handshake.
// For any other transport it falls back to Close.
func Break(tr jstp.Transport) {
	if b, ok := tr.(interface{ Break() }); ok {
		b.Break()
		return
	}
	tr.Close()
}
