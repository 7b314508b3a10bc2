// Package tcptest provides conformance factories for the tcp adapter, so
// that other modules can run the conformance suite over TCP, TLS and Unix
// sockets, or mix them with other adapters (a client that starts over
// WebSocket and resumes its session over TCP, for example).
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, tcptest.Factory())
//	}
package tcptest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/tcp"
	"github.com/jstp-go/jstp/adapters/tcp/internal/testcert"
	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// shutdownTimeout bounds the graceful stop of a test listener.
const shutdownTimeout = 5 * time.Second

// Factory returns a conformance factory over plain TCP on 127.0.0.1.
// Addresses are "tcp://127.0.0.1:port".
func Factory() conformance.Factory {
	return factory("tcp", nil, nil)
}

// TLSFactory returns a conformance factory over TLS on 127.0.0.1, with a
// self-signed certificate for 127.0.0.1 made once per process; the dialer
// trusts only that certificate. Addresses are "tls://127.0.0.1:port".
func TLSFactory() conformance.Factory {
	p, err := testcert.Get()
	if err != nil {
		return conformance.Factory{
			Listen: func(t testing.TB, _ *jstp.Server) string {
				t.Fatalf("tcptest: test certificate: %v", err)
				return ""
			},
			Dial: func(context.Context, string) (jstp.Transport, error) { return nil, err },
		}
	}
	return factory("tls", &tcp.ServerConfig{TLSConfig: p.ServerConfig()}, &tcp.Config{TLSConfig: p.ClientConfig()})
}

// UnixFactory returns a conformance factory over Unix sockets, each in a
// fresh temporary directory. Addresses are "unix:///path/to/socket".
func UnixFactory() conformance.Factory {
	return factory("unix", nil, nil)
}

// Config returns the client settings the factory for scheme ("tcp", "tls"
// or "unix") dials with: for "tls", a configuration that trusts the test
// certificate. Use it to dial a tcptest listener with tcp.Dialer, for
// example when a connection made over another adapter resumes over it.
func Config(scheme string) *tcp.Config {
	if scheme != "tls" {
		return nil
	}
	p, err := testcert.Get()
	if err != nil {
		return nil
	}
	return &tcp.Config{TLSConfig: p.ClientConfig()}
}

func factory(scheme string, scfg *tcp.ServerConfig, ccfg *tcp.Config) conformance.Factory {
	return conformance.Factory{
		Listen: func(t testing.TB, srv *jstp.Server) string {
			return Listen(t, srv, scheme, scfg)
		},
		Dial: func(ctx context.Context, addr string) (jstp.Transport, error) {
			return tcp.Dialer(ccfg, addr)(ctx)
		},
		Break: Break,
	}
}

// Listen serves srv over scheme ("tcp", "tls" or "unix") on a fresh
// 127.0.0.1 port or socket path until the test ends, and returns the
// address to dial. scfg holds the server settings (for "tls", its
// TLSConfig must hold a certificate; nil means the test certificate).
func Listen(t testing.TB, srv *jstp.Server, scheme string, scfg *tcp.ServerConfig) string {
	t.Helper()
	var (
		l   net.Listener
		err error
	)
	switch scheme {
	case "tcp", "tls":
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		l, err = net.Listen("unix", filepath.Join(socketDir(t), "jstp.sock"))
	default:
		t.Fatalf("tcptest: unknown scheme %q", scheme)
	}
	if err != nil {
		t.Fatalf("tcptest: listen: %v", err)
	}
	if scheme == "tls" && scfg == nil {
		p, err := testcert.Get()
		if err != nil {
			t.Fatalf("tcptest: test certificate: %v", err)
		}
		scfg = &tcp.ServerConfig{TLSConfig: p.ServerConfig()}
	}
	s := tcp.Wrap(srv, scfg)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-served; !errors.Is(err, tcp.ErrServerClosed) {
			t.Errorf("tcptest: Serve: %v", err)
		}
	})
	if scheme == "unix" {
		return "unix://" + l.Addr().String()
	}
	return scheme + "://" + l.Addr().String()
}

// Break severs a transport made by the tcp adapter abruptly (a TCP reset),
// or closes any other transport.
func Break(tr jstp.Transport) {
	if b, ok := tr.(interface{ Break() }); ok {
		b.Break()
		return
	}
	tr.Close()
}

// socketDir returns a directory for a socket whose path fits the 108 bytes
// of sun_path, removed when the test ends.
func socketDir(t testing.TB) string {
	dir := t.TempDir()
	if len(dir) <= 90 {
		return dir
	}
	dir, err := os.MkdirTemp("", "jstp")
	if err != nil {
		t.Fatalf("tcptest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
