package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/tcp/internal/testcert"
	jstp "github.com/jstp-go/jstp/core"
)

func testApp(t testing.TB) *jstp.Application {
	app := jstp.MustNewApplication("testApp@1.0.0")
	if err := app.Handle("calc", "add", func(a, b float64) float64 { return a + b }); err != nil {
		t.Fatal(err)
	}
	return app
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// endpointKind describes how to listen and dial for one kind of socket.
type endpointKind struct {
	name string
	// listen returns a listener, the address clients dial and the server
	// and client settings.
	listen func(t testing.TB) (net.Listener, string, *ServerConfig, *Config)
}

var kinds = []endpointKind{
	{"tcp", func(t testing.TB) (net.Listener, string, *ServerConfig, *Config) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l, "tcp://" + l.Addr().String(), nil, nil
	}},
	{"tls", func(t testing.TB) (net.Listener, string, *ServerConfig, *Config) {
		p, err := testcert.Get()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l, "tls://" + l.Addr().String(), &ServerConfig{TLSConfig: p.ServerConfig()}, &Config{TLSConfig: p.ClientConfig()}
	}},
	{"unix", func(t testing.TB) (net.Listener, string, *ServerConfig, *Config) {
		l, err := net.Listen("unix", filepath.Join(shortTempDir(t), "jstp.sock"))
		if err != nil {
			t.Fatal(err)
		}
		return l, "unix://" + l.Addr().String(), nil, nil
	}},
}

// startServer serves opts on l until the test ends and returns the server
// and a channel that receives Serve's result.
func startServer(t testing.TB, opts jstp.ServerOptions, l net.Listener, cfg *ServerConfig) (*Server, <-chan error) {
	t.Helper()
	if opts.Applications == nil {
		opts.Applications = []*jstp.Application{testApp(t)}
	}
	s, err := NewServer(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() { s.Close() })
	return s, served
}

func shutdown(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestServeAndConnect(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			l, addr, scfg, ccfg := k.listen(t)
			s, served := startServer(t, jstp.ServerOptions{}, l, scfg)
			ctx := testCtx(t)
			conn, proxies, err := ConnectAndInspect(ctx, "testApp", nil, []string{"calc"}, ccfg, addr)
			if err != nil {
				t.Fatal(err)
			}
			res, err := proxies["calc"].Call(ctx, "add", 2, 3)
			if err != nil || len(res) != 1 || res[0] != 5.0 {
				t.Fatalf("add: %v %v", res, err)
			}
			clients := s.JSTP().Clients()
			if len(clients) != 1 || clients[0].RemoteAddr() == nil || clients[0].RemoteAddr().String() == "" {
				t.Fatalf("server clients: %v", clients)
			}
			if conn.RemoteAddr() == nil {
				t.Fatal("client RemoteAddr nil")
			}
			shutdown(t, s)
			if err := <-served; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: %v, want ErrServerClosed", err)
			}
			conn.Close()
			<-conn.Done()
			if k.name == "unix" {
				if _, err := os.Stat(l.Addr().String()); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("socket file still there: %v", err)
				}
			}
		})
	}
}

// TestReconnectAcrossTransports moves one client connection, with its
// session, from an in-memory pipe to TCP, to a Unix socket, to TLS, all
// served by one jstp.Server.
func TestReconnectAcrossTransports(t *testing.T) {
	srv, err := jstp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{testApp(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := testCtx(t)
	conn, err := jstp.Connect(ctx, "testApp", nil, func(context.Context) (jstp.Transport, error) {
		a, b := jstp.Pipe()
		srv.Serve(b)
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	session := conn.Session().ID()
	for _, k := range kinds {
		l, addr, scfg, ccfg := k.listen(t)
		s := Wrap(srv, scfg)
		go s.Serve(l)
		t.Cleanup(func() { s.Close() })
		if err := Reconnect(ctx, conn, ccfg, addr); err != nil {
			t.Fatalf("%s: Reconnect: %v", k.name, err)
		}
		if got := conn.Session().ID(); got != session {
			t.Fatalf("%s: session %s, want %s", k.name, got, session)
		}
		if res, err := conn.Call(ctx, "calc", "add", 1, 1); err != nil || res[0] != 2.0 {
			t.Fatalf("%s: add: %v %v", k.name, res, err)
		}
	}
}

// TestShutdownStalledPeer: a peer that neither reads nor closes cannot
// hold Shutdown past its deadline, and no goroutine is left behind.
func TestShutdownStalledPeer(t *testing.T) {
	l, _, _, _ := kinds[0].listen(t)
	s, served := startServer(t, jstp.ServerOptions{}, l, nil)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	handshake(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > CloseTimeout {
		t.Errorf("Shutdown took %v", d)
	}
	<-served
}

// handshake performs an anonymous handshake over a raw connection.
func handshake(t testing.TB, c net.Conn) {
	t.Helper()
	if _, err := c.Write([]byte("{handshake:[0,'testApp']}\x00")); err != nil {
		t.Fatal(err)
	}
	var answer []byte
	buf := make([]byte, 1)
	for { // byte by byte, so nothing after the answer is consumed
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("handshake answer: %v", err)
		}
		if buf[0] == 0 {
			break
		}
		answer = append(answer, buf[0])
	}
	if !strings.Contains(string(answer), "ok:") {
		t.Fatalf("handshake answer %q", answer)
	}
}

// TestShutdownCleanPeers: raw peers, established or in the middle of a
// message, that close their end when they see the server's end of stream
// let Shutdown finish cleanly, and they read everything before it.
func TestShutdownCleanPeers(t *testing.T) {
	l, _, _, _ := kinds[0].listen(t)
	s, served := startServer(t, jstp.ServerOptions{}, l, nil)
	tails := []string{"", "{call:[1,'calc'],add:[1", "{call:[1,'calc'],add:[1,2]}\x00"}
	done := make(chan error, len(tails))
	for _, tail := range tails {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		handshake(t, c)
		if _, err := c.Write([]byte(tail)); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := io.Copy(io.Discard, c) // until the server's end of stream
			c.Close()
			if err != nil {
				err = fmt.Errorf("peer with tail %q: %w", tail, err)
			}
			done <- err
		}()
	}
	shutdown(t, s)
	for range tails {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	<-served
}

func TestServerClose(t *testing.T) {
	l, addr, _, _ := kinds[0].listen(t)
	s, served := startServer(t, jstp.ServerOptions{}, l, nil)
	ctx := testCtx(t)
	conn, err := Connect(ctx, "testApp", &jstp.Client{Reconnector: jstp.ReconnectorFunc(
		func(*jstp.Connection, int, error) (time.Duration, jstp.Dialer, bool) { return 0, nil, false })}, nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-served
	<-conn.Done()
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	if err := s.ListenAndServe("tcp", "127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Close: %v", err)
	}
}

func TestListenAndServe(t *testing.T) {
	p, err := testcert.Get()
	if err != nil {
		t.Fatal(err)
	}
	dir := shortTempDir(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, p.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, p.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	// A free port for ListenAndServeTLS, found by listening once.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := probe.Addr().String()
	probe.Close()

	s, err := NewServer(jstp.ServerOptions{Applications: []*jstp.Application{testApp(t)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	unixServed, tlsServed := make(chan error, 1), make(chan error, 1)
	go func() { unixServed <- s.ListenAndServe("unix", sock) }()
	go func() { tlsServed <- s.ListenAndServeTLS(tlsAddr, certFile, keyFile) }()

	ctx := testCtx(t)
	noRetry := &jstp.Client{Reconnector: jstp.ReconnectorFunc(
		func(*jstp.Connection, int, error) (time.Duration, jstp.Dialer, bool) { return 0, nil, false })}
	for _, addr := range []string{"unix://" + sock, "tls://" + tlsAddr} {
		cfg := &Config{TLSConfig: p.ClientConfig()}
		var conn *jstp.Connection
		// The listeners open in the goroutines above; until then a dial is
		// refused, so retry on that error alone.
		for {
			conn, err = Connect(ctx, "testApp", noRetry, cfg, addr)
			if err == nil || ctx.Err() != nil || !isRefused(err) {
				break
			}
			select {
			case <-unixServed:
				t.Fatal("ListenAndServe returned")
			case <-tlsServed:
				t.Fatal("ListenAndServeTLS returned")
			default:
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if res, err := conn.Call(ctx, "calc", "add", 1, 2); err != nil || res[0] != 3.0 {
			t.Fatalf("%s: add: %v %v", addr, res, err)
		}
		conn.Close()
	}
	if s.Addr() == nil {
		t.Error("Addr() nil while serving")
	}
	shutdown(t, s)
	for _, ch := range []chan error{unixServed, tlsServed} {
		if err := <-ch; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left: %v", err)
	}
	if s.Addr() != nil {
		t.Error("Addr() after Shutdown")
	}
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !errors.Is(err, context.DeadlineExceeded)
}

func TestWrapLeavesEngineRunning(t *testing.T) {
	srv, err := jstp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{testApp(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l, _, _, _ := kinds[0].listen(t)
	s := Wrap(srv, nil)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	shutdown(t, s)
	<-served
	ctx := testCtx(t)
	conn, err := jstp.Connect(ctx, "testApp", nil, func(context.Context) (jstp.Transport, error) {
		a, b := jstp.Pipe()
		srv.Serve(b)
		return a, nil
	})
	if err != nil {
		t.Fatalf("engine stopped with the wrapper: %v", err)
	}
	conn.Close()
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in      string
		network string
		address string
		bad     bool
	}{
		{in: "tcp://127.0.0.1:80", network: "tcp", address: "127.0.0.1:80"},
		{in: "TLS://example.com:443/", network: "tls", address: "example.com:443"},
		{in: "127.0.0.1:3000", network: "tcp", address: "127.0.0.1:3000"},
		{in: "[::1]:3000", network: "tcp", address: "[::1]:3000"},
		{in: "unix:///tmp/app.sock", network: "unix", address: "/tmp/app.sock"},
		{in: "unix:rel.sock", network: "unix", address: "rel.sock"},
		{in: "ws://127.0.0.1:80", bad: true},
		{in: "tcp://", bad: true},
		{in: "tcp://host:1/path", bad: true},
		{in: "unix://", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ep, err := parseAddr(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseAddr(%q) = %v, want an error", tt.in, ep)
				}
				return
			}
			if err != nil || ep.network != tt.network || ep.address != tt.address {
				t.Fatalf("parseAddr(%q) = %+v, %v", tt.in, ep, err)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	l, _, _, _ := kinds[0].listen(t)
	startServer(t, jstp.ServerOptions{}, l, nil)
	p, err := testcert.Get()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  *Config
		addr string
	}{
		{"bad scheme", nil, "http://127.0.0.1:1"},
		{"tls to a plain server", &Config{TLSConfig: p.ClientConfig()}, "tls://" + l.Addr().String()},
		{"untrusted certificate", &Config{TLSConfig: &tls.Config{}}, ""},
		{"missing socket", nil, "unix://" + filepath.Join(shortTempDir(t), "none.sock")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr
			if addr == "" {
				tl, a, scfg, _ := kinds[1].listen(t)
				startServer(t, jstp.ServerOptions{}, tl, scfg)
				addr = a
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tr, err := Dialer(tt.cfg, addr)(ctx)
			if err == nil {
				tr.Close()
				t.Fatal("dial succeeded")
			}
		})
	}
}
