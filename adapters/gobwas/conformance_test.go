package gobwas_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/adapters/gobwas/gobwastest"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// TestConformance runs the whole suite with a gobwas client against a
// gobwas server: epoll-driven (the published factory), with a goroutine per
// connection, and over TLS (wss://, which is always goroutine-driven).
func TestConformance(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	cases := []struct {
		name    string
		factory conformance.Factory
	}{
		{
			name:    "epoll",
			factory: gobwastest.Factory(),
		},
		{
			name:    "goroutine per connection",
			factory: factoryWith(&gobwas.ServerConfig{NoPoll: true}, nil, "ws://"),
		},
		{
			name: "wss",
			factory: factoryWith(&gobwas.ServerConfig{TLSConfig: srvTLS},
				&gobwas.Config{Dialer: ws.Dialer{TLSConfig: cliTLS}}, "wss://"),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conformance.Run(t, c.factory)
		})
	}
}

// factoryWith is gobwastest.Factory with explicit server and client
// settings.
func factoryWith(scfg *gobwas.ServerConfig, ccfg *gobwas.Config, scheme string) conformance.Factory {
	return conformance.Factory{
		Listen: func(t testing.TB, srv *jstp.Server) string {
			s := gobwas.Wrap(srv, scfg)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
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
					t.Errorf("shutdown: %v", err)
				}
				<-done
			})
			return scheme + l.Addr().String() + "/"
		},
		Dial: func(ctx context.Context, addr string) (jstp.Transport, error) {
			return gobwas.Dialer(ccfg, addr)(ctx)
		},
		Break: gobwastest.Break,
	}
}

// testTLS makes server and client TLS settings around a self-signed
// certificate for 127.0.0.1.
func testTLS(t testing.TB) (server, client *tls.Config) {
	cert, pool := wstest.SelfSigned(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}
