package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
	"github.com/jstp-go/jstp/core/mdsf"
)

// goApp is the Go twin of node/server.js's application: 'interop' in
// versions 1.0.0, 1.1.0 and 2.0.0 with the same interfaces, for the
// reference's clients (node/client.js and the browser page).
type goApp struct {
	apps []*jstp.Application

	mu          sync.Mutex
	dropped     map[*jstp.Session]chan struct{} // closed when the session's connection drops
	disconnects chan string                     // session ids, after the armed events are emitted
}

func newGoApp(t testing.TB) *goApp {
	g := &goApp{dropped: map[*jstp.Session]chan struct{}{}, disconnects: make(chan string, 64)}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		app, err := jstp.NewApplicationVersion("interop", v)
		if err != nil {
			t.Fatal(err)
		}
		g.register(t, app, v)
		g.apps = append(g.apps, app)
	}
	return g
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (g *goApp) droppedChan(s *jstp.Session) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := g.dropped[s]
	if ch == nil {
		ch = make(chan struct{})
		g.dropped[s] = ch
	}
	return ch
}

func (g *goApp) register(t testing.TB, app *jstp.Application, version string) {
	h := func(name string, fn any) { must(t, app.Handle("test", name, fn)) }
	h("version", func() string { return version })
	h("whoami", func(c *jstp.Connection) any {
		if u := c.Username(); u != "" {
			return u
		}
		return nil
	})
	h("echo", func(v any) any { return v })
	h("echo3", func(a, b, c any) (any, any, any) { return a, b, c })
	// Large calls to it are parsed out of lent memory: over tcp and unix,
	// where the transport read them (jstp.MessageTaker).
	must(t, app.Handle("test", "echoBorrowed", func(a, b, c string) (string, string, string) { return a, b, c }, jstp.BorrowArgs()))
	h("types", func() (float64, float64, string, bool, bool, any, []any, mdsf.Object) {
		return 42, -1.5, "str", true, false, nil,
			[]any{1.0, []any{2.0, "three"}, mdsf.Object{{Key: "four", Value: 4.0}}},
			mdsf.Object{{Key: "a", Value: 1.0}, {Key: "b-c", Value: "d"}, {Key: "nested", Value: mdsf.Object{{Key: "arr", Value: []any{}}}}}
	})
	h("describe", func(v any) mdsf.Object { return goDescribe(v) })
	h("fail", func(code int) error { return jstp.NewError(code, "") })
	h("custom", func() error {
		return jstp.NewError(1001, "custom failure", "detail", mdsf.Object{{Key: "n", Value: 1.0}})
	})
	h("stringError", func() error { return jstp.NewError(1, "plain string error") })
	h("throws", func() error { panic("method threw") })
	h("triggerEvent", func(c *jstp.Connection, name string, args []any) error {
		return c.Emit("test", name, args...)
	})
	h("broadcast", func(c *jstp.Connection, args []any) error {
		return c.Server().Broadcast("test", "broadcast", args...)
	})
	h("big", func(size int) string {
		const unit = "abcdefghijklmnopqrstuvwxyz0123456789"
		return strings.Repeat(unit, size/len(unit)+1)[:size]
	})
	h("size", func(v any) int {
		if s, ok := v.(string); ok {
			return utf16Len(s)
		}
		return -1
	})
	h("counter", func(c *jstp.Connection) float64 {
		s := c.Session()
		n, _ := s.Get("counter")
		f, _ := n.(float64)
		s.Set("counter", f+1)
		return f + 1
	})
	h("notes", func(c *jstp.Connection) []any {
		n, _ := c.Session().Get("notes")
		l, _ := n.([]any)
		return append([]any{}, l...)
	})
	h("sessionId", func(c *jstp.Connection) string { return c.Session().ID() })
	// armEvents makes the server emit n events 'tick' [1..n] to this
	// session as soon as its connection drops, before the client resumes.
	h("armEvents", func(c *jstp.Connection, n int) { c.Session().Set("armed", n) })
	// hold, the first time in a session, emits 'holding' and answers only
	// after the connection dropped: the answer is lost. Later calls answer
	// at once.
	h("hold", func(ctx context.Context, c *jstp.Connection, v any) any {
		s := c.Session()
		if held, _ := s.Get("held"); held == true {
			return v
		}
		s.Set("held", true)
		dropped := g.droppedChan(s)
		_ = c.Emit("test", "holding", v)
		select {
		case <-dropped:
		case <-g.droppedChan(c.Session()):
		case <-ctx.Done():
		case <-time.After(20 * time.Second):
		}
		return v
	})
	must(t, app.Handle("other", "hello", func(name string) string { return "hello " + name }))
	app.On("test", "note", func(c *jstp.Connection, args []any) {
		s := c.Session()
		n, _ := s.Get("notes")
		l, _ := n.([]any)
		s.Set("notes", append(l, args))
	})
}

// onDisconnect emits the armed events to the dropped session, releases its
// held calls and reports the session id.
func (g *goApp) onDisconnect(c *jstp.Connection) {
	s := c.Session()
	if s == nil {
		return
	}
	if n, ok := s.Get("armed"); ok {
		s.Delete("armed")
		for i := 1; i <= n.(int); i++ {
			_ = c.Emit("test", "tick", float64(i))
		}
	}
	close(g.droppedChan(s))
	g.mu.Lock()
	delete(g.dropped, s)
	g.mu.Unlock()
	g.disconnects <- s.ID()
}

func (g *goApp) options() jstp.ServerOptions {
	return jstp.ServerOptions{
		Applications: g.apps,
		AuthPolicy: jstp.AuthFunc(func(_ context.Context, _ *jstp.Connection, _ *jstp.Application, strategy string, cred []any) (string, error) {
			if strategy == "login" && len(cred) == 2 && cred[0] == "user" && cred[1] == "secret" {
				return "user", nil
			}
			return "", jstp.ErrAuthFailed
		}),
		HeartbeatInterval: 200 * time.Millisecond,
		OnDisconnect:      g.onDisconnect,
	}
}

// goDescribe is describe of node/server.js, seen from Go.
func goDescribe(v any) mdsf.Object {
	typ := "object"
	switch v.(type) {
	case nil:
		typ = "null"
	case []any:
		typ = "array"
	case string:
		typ = "string"
	case float64:
		typ = "number"
	case bool:
		typ = "boolean"
	case mdsf.UndefinedType:
		typ = "undefined"
	}
	var cps, units any
	if s, ok := v.(string); ok {
		cps, units = runeCodes(s), float64(utf16Len(s))
	}
	return mdsf.Object{
		{Key: "type", Value: typ},
		{Key: "negZero", Value: false},
		{Key: "text", Value: stringify(v)},
		{Key: "codePoints", Value: cps},
		{Key: "units", Value: units},
	}
}

// localListener listens on a fresh 127.0.0.1 port.
func localListener(t testing.TB) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testCert makes a self-signed certificate for 127.0.0.1 and writes its
// PEM to a file, for the reference's TLS client to trust.
func testCert(t testing.TB) (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jstp interop"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	path := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// serveUntilCleanup runs serve in a goroutine and shuts the server down
// when the test ends.
func serveUntilCleanup(t testing.TB, serve func() error, shutdown func(context.Context) error, closed ...error) {
	done := make(chan error, 1)
	go func() { done <- serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, net.ErrClosed) && !isOneOf(err, closed) {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not return after shutdown")
		}
	})
}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
