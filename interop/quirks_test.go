package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/tcp"
	"github.com/jstp-go/jstp/core/mdsf"
)

// rawConn speaks NUL-framed mdsf by hand, to send what no well-behaved
// client would.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, network, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(msgs ...string) {
	r.t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString(m)
		b.WriteByte(0)
	}
	if _, err := r.c.Write(b.Bytes()); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

// recv reads one message; io.EOF (or another error) when the peer closed.
func (r *rawConn) recv(timeout time.Duration) (mdsf.Object, string, error) {
	r.c.SetReadDeadline(time.Now().Add(timeout))
	b, err := r.br.ReadBytes(0)
	if err != nil {
		return nil, "", err
	}
	text := string(b[:len(b)-1])
	v, err := mdsf.ParseString(text)
	if err != nil {
		return nil, text, fmt.Errorf("unparsable message %q: %w", text, err)
	}
	obj, _ := v.(mdsf.Object)
	return obj, text, nil
}

// recvKind reads messages until one of kind arrives, skipping pings.
func (r *rawConn) recvKind(kind string, timeout time.Duration) (mdsf.Object, string) {
	r.t.Helper()
	for {
		obj, text, err := r.recv(timeout)
		if err != nil {
			r.t.Fatalf("waiting for a %s message: %v", kind, err)
		}
		if len(obj) > 0 && obj[0].Key == kind {
			return obj, text
		}
	}
}

// head returns the message's first member's array (its kind and id).
func head(obj mdsf.Object) []any {
	if len(obj) == 0 {
		return nil
	}
	a, _ := obj[0].Value.([]any)
	return a
}

// collectUntilClosed reads every message until the peer closes or timeout.
func (r *rawConn) collectUntilClosed(timeout time.Duration) (msgs []string, closed bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, text, err := r.recv(time.Until(deadline))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return msgs, false
			}
			return msgs, errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset")
		}
		msgs = append(msgs, text)
	}
	return msgs, false
}

// goSocketServer serves the Go twin application over TCP.
func goSocketServer(t *testing.T) string {
	g := newGoApp(t)
	opts := g.options()
	opts.HeartbeatInterval = 0 // the raw clients count the server's ids
	s, err := tcp.NewServer(opts, nil)
	must(t, err)
	l := localListener(t)
	serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, tcp.ErrServerClosed)
	return l.Addr().String()
}

// TestReferenceQuirks demonstrates, against the real package, the
// reference's misbehaviours listed in docs/compatibility.md, and checks
// that the Go server does not share them.
func TestReferenceQuirks(t *testing.T) {
	srv := startNodeServer(t)
	nodeTCP := strings.TrimPrefix(srv.tcp, "tcp://")
	goTCP := goSocketServer(t)

	t.Run("null message", func(t *testing.T) {
		// ws-internal.js _onMessage hands whatever mdsf.parse returned to
		// connection.js _processMessage, which calls Object.keys(message):
		// `null` throws a TypeError out of the WebSocket library's message
		// handler, an uncaught exception that ends a Node process without
		// a handler (server.js installs one to report it). Over sockets,
		// mdsf.parseJSTPMessages accepts only objects and the socket is
		// just destroyed.
		d := websocket.Dialer{Subprotocols: []string{"metarhia-jstp"}}
		ws, _, err := d.Dial(srv.ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, []byte("null")); err != nil {
			t.Fatal(err)
		}
		m := srv.waitFor(t, 10*time.Second, "the reference's uncaught exception", func(m map[string]any) bool {
			return m["ev"] == "uncaught"
		})
		if msg := fmt.Sprint(m["message"]); !strings.Contains(msg, "null") {
			t.Errorf("uncaught exception %q, want the TypeError on null", msg)
		}

		// The Go server rejects the message and keeps serving.
		g := dialRaw(t, "tcp", goTCP)
		g.send("null", "42", "'str'", "[1]")
		_, _ = g.collectUntilClosed(2 * time.Second)
		ctx := ctxT(t, 10*time.Second)
		conn := connectOK(t, ctx, "interop", nil, tcp.Dialer(nil, "tcp://"+goTCP))
		if got := call(t, ctx, conn, "echo", "alive"); stringify(got) != `['alive']` {
			t.Errorf("Go server after non-object messages: echo = %s", stringify(got))
		}
	})

	t.Run("second handshake while the first is pending", func(t *testing.T) {
		const hs = `{handshake:[0,'interop'],login:['user','secret']}`
		// The reference accepts both (its auth policy answers
		// asynchronously and handshakeDone is set only then): two sessions
		// on one connection.
		r := dialRaw(t, "tcp", nodeTCP)
		r.send(hs, hs)
		a, _ := r.recvKind("handshake", 10*time.Second)
		b, _ := r.recvKind("handshake", 10*time.Second)
		okA, _ := a.Get("ok")
		okB, _ := b.Get("ok")
		if okA == nil || okB == nil || okA == okB {
			t.Errorf("reference answered %s and %s; its known behaviour is two different sessions", stringify(a), stringify(b))
		}

		// The Go server answers at most once and closes the connection.
		g := dialRaw(t, "tcp", goTCP)
		g.send(hs, hs)
		msgs, closed := g.collectUntilClosed(5 * time.Second)
		oks := 0
		for _, m := range msgs {
			if strings.HasPrefix(m, "{handshake:[0],ok:") {
				oks++
			}
		}
		if oks > 1 || !closed {
			t.Errorf("Go server answered %q to two handshakes (closed: %v), want at most one ok and a closed connection", msgs, closed)
		}
	})

	t.Run("server ids restart after resume", func(t *testing.T) {
		// connection.js _onSessionRestored: _nextMessageId =
		// session.latestBufferedMessageId + 1, which for a server (ids
		// counting down) moves back to an id already used.
		id := nextEventIDAfterResume(t, nodeTCP, func(sid string) {
			srv.waitFor(t, 10*time.Second, "the disconnect", evLine("disconnect", sid))
		})
		if id != -1 {
			t.Errorf("after resume the reference sent event id %v; its known behaviour is to reuse -1 (the correct next id is -3)", id)
		}
		// The Go server continues with -3.
		id = nextEventIDAfterResume(t, goTCP, func(string) {})
		if id != -3 {
			t.Errorf("after resume the Go server sent event id %v, want -3", id)
		}
	})
}

// nextEventIDAfterResume has a raw client receive events -1 and -2, drop
// the connection, resume the session and trigger one more event; it returns
// that event's id.
func nextEventIDAfterResume(t *testing.T, addr string, awaitDrop func(sid string)) float64 {
	r := dialRaw(t, "tcp", addr)
	r.send(`{handshake:[0,'interop']}`)
	hs, _ := r.recvKind("handshake", 10*time.Second)
	sid, _ := hs.Get("ok")
	r.send(`{call:[1,'test'],triggerEvent:['tick',[1]]}`, `{call:[2,'test'],triggerEvent:['tick',[2]]}`)
	var ids []float64
	for callbacks := 0; len(ids) < 2 || callbacks < 2; {
		msg, text, err := r.recv(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for two events and two callbacks: %v", err)
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0].Key {
		case "event":
			ids = append(ids, head(msg)[0].(float64))
		case "callback":
			callbacks++
		default:
			t.Logf("skipping %s", text)
		}
	}
	if ids[0] != -1 || ids[1] != -2 {
		t.Fatalf("event ids %v, want [-1 -2]", ids)
	}
	r.c.Close()

	awaitDrop(fmt.Sprint(sid))

	r2 := dialRaw(t, "tcp", addr)
	r2.send(fmt.Sprintf(`{handshake:[0,'interop'],session:['%s',2]}`, sid))
	r2.recvKind("handshake", 10*time.Second)
	r2.send(`{call:[3,'test'],triggerEvent:['tick',[3]]}`)
	ev, text := r2.recvKind("event", 10*time.Second)
	t.Logf("%s: after resume: %s", addr, text)
	return head(ev)[0].(float64)
}
