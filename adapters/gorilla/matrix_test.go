package gorilla_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/adapters/gobwas/gobwastest"
	"github.com/jstp-go/jstp/adapters/gorilla"
	"github.com/jstp-go/jstp/adapters/gorilla/gorillatest"
	"github.com/jstp-go/jstp/adapters/nhooyr"
	"github.com/jstp-go/jstp/adapters/nhooyr/nhooyrtest"
	"github.com/jstp-go/jstp/adapters/tcp"
	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

// TestCrossAdapter runs the conformance suite with the server of one
// WebSocket adapter and the client of another, for every ordered pair of
// gorilla, nhooyr and gobwas. (Each adapter runs it against itself in its
// own module.)
func TestCrossAdapter(t *testing.T) {
	adapters := []struct {
		name    string
		factory conformance.Factory
	}{
		{"gorilla", gorillatest.Factory()},
		{"nhooyr", nhooyrtest.Factory()},
		{"gobwas", gobwastest.Factory()},
	}
	for _, server := range adapters {
		for _, client := range adapters {
			if server.name == client.name {
				continue
			}
			t.Run(client.name+" client, "+server.name+" server", func(t *testing.T) {
				conformance.Run(t, conformance.Factory{
					Listen: server.factory.Listen,
					Dial:   client.factory.Dial,
					Break:  client.factory.Break,
				})
			})
		}
	}
}

// TestSwitchAdapters moves one client connection, with its session, from
// gorilla to nhooyr to TCP to gobwas and back to gorilla, all serving one
// jstp.Server: first with Reconnect, then through the reconnector after the
// server side of the current adapter goes away.
func TestSwitchAdapters(t *testing.T) {
	app := jstp.MustNewApplication("calc@1.0.0")
	if err := app.Handle("calculator", "add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	reconnected := make(chan struct{}, 8)
	srv, err := jstp.NewServer(jstp.ServerOptions{
		Applications: []*jstp.Application{app},
		OnReconnect:  func(*jstp.Connection) { reconnected <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	shutdown := func(s interface{ Shutdown(context.Context) error }) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}

	gl := listen()
	gs := gorilla.Wrap(srv, nil)
	go gs.Serve(gl)
	t.Cleanup(func() { shutdown(gs) })
	nl := listen()
	ns := nhooyr.Wrap(srv, nil)
	go ns.Serve(nl)
	tl := listen()
	ts := tcp.Wrap(srv, nil)
	go ts.Serve(tl)
	t.Cleanup(func() { shutdown(ts) })
	bl := listen()
	bs := gobwas.Wrap(srv, nil)
	go bs.Serve(bl)
	t.Cleanup(func() { shutdown(bs) })

	gorillaURL := "ws://" + gl.Addr().String() + "/"
	nhooyrURL := "ws://" + nl.Addr().String() + "/"
	tcpAddr := "tcp://" + tl.Addr().String()
	gobwasURL := "ws://" + bl.Addr().String() + "/"

	// After an unintended loss, go back to gorilla at once.
	back := jstp.ReconnectorFunc(func(*jstp.Connection, int, error) (time.Duration, jstp.Dialer, bool) {
		return 0, gorilla.Dialer(nil, gorillaURL), true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := gorilla.Connect(ctx, "calc", &jstp.Client{Reconnector: back}, nil, gorillaURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); <-conn.Done() })
	session := conn.Session().ID()

	check := func(step, wantAddr string) {
		t.Helper()
		select {
		case <-reconnected:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: server saw no session resumption", step)
		}
		if got := conn.Session().ID(); got != session {
			t.Fatalf("%s: session %s, want %s", step, got, session)
		}
		if got := conn.RemoteAddr().String(); got != wantAddr {
			t.Fatalf("%s: RemoteAddr %s, want %s", step, got, wantAddr)
		}
		if res, err := conn.Call(ctx, "calculator", "add", 2, 3); err != nil || len(res) != 1 || res[0] != 5.0 {
			t.Fatalf("%s: add: %v %v", step, res, err)
		}
	}

	if err := nhooyr.Reconnect(ctx, conn, nil, nhooyrURL); err != nil {
		t.Fatalf("to nhooyr: %v", err)
	}
	check("gorilla to nhooyr", nl.Addr().String())

	if err := tcp.Reconnect(ctx, conn, nil, tcpAddr); err != nil {
		t.Fatalf("to tcp: %v", err)
	}
	check("nhooyr to tcp", tl.Addr().String())

	if err := gobwas.Reconnect(ctx, conn, nil, gobwasURL); err != nil {
		t.Fatalf("to gobwas: %v", err)
	}
	check("tcp to gobwas", bl.Addr().String())

	if err := nhooyr.Reconnect(ctx, conn, nil, nhooyrURL); err != nil {
		t.Fatalf("back to nhooyr: %v", err)
	}
	check("gobwas to nhooyr", nl.Addr().String())

	// The nhooyr server goes away; the reconnector brings the connection
	// back over gorilla.
	shutdown(ns)
	check("nhooyr lost, reconnector to gorilla", gl.Addr().String())
}
