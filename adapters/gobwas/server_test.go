package gobwas

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
)

// dialRaw upgrades a raw client connection; frames are then written and
// read by hand.
func dialRaw(t testing.TB, url string, d ws.Dialer) net.Conn {
	t.Helper()
	if d.Protocols == nil {
		d.Protocols = []string{Subprotocol}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if br != nil {
		t.Fatal("unexpected bytes after the handshake")
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func writeRaw(t testing.TB, nc net.Conn, b []byte) {
	t.Helper()
	_ = nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := nc.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readFrame reads one server frame.
func readFrame(t testing.TB, r io.Reader) ws.Frame {
	t.Helper()
	if nc, ok := r.(net.Conn); ok {
		_ = nc.SetReadDeadline(time.Now().Add(waitFor))
	}
	h, err := ws.ReadHeader(r)
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return ws.Frame{Header: h, Payload: p}
}

func closeCode(t testing.TB, f ws.Frame) ws.StatusCode {
	t.Helper()
	if f.Header.OpCode != ws.OpClose {
		t.Fatalf("got opcode %d, want a close frame", f.Header.OpCode)
	}
	code, _ := ws.ParseCloseFrameData(f.Payload)
	return code
}

func TestServerExchange(t *testing.T) {
	_, eng, url := startServer(t, nil)
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)

	cases := []struct {
		name string
		send []byte
		want string
	}{
		{
			name: "text",
			send: frame(ws.OpText, true, []byte("{call:[1,'i']}"), true),
			want: "{call:[1,'i']}",
		},
		{
			name: "binary",
			send: frame(ws.OpBinary, true, []byte("{event:[-1,'i']}"), true),
			want: "{event:[-1,'i']}",
		},
		{
			name: "fragmented",
			send: cat(frame(ws.OpText, false, []byte("ab"), true), frame(ws.OpContinuation, true, []byte("cd"), true)),
			want: "abcd",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			writeRaw(t, nc, c.send)
			if got := string(sv.rec.next(t)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}

	t.Run("ping gets pong", func(t *testing.T) {
		writeRaw(t, nc, frame(ws.OpPing, true, []byte("hi"), true))
		f := readFrame(t, nc)
		if f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" || f.Header.Masked {
			t.Fatalf("got %+v %q", f.Header, f.Payload)
		}
	})

	t.Run("send fragments over 1 MiB", func(t *testing.T) {
		msg := bytes.Repeat([]byte("z"), 5*MaxFragmentSize/2)
		errc := make(chan error, 1)
		go func() { errc <- sv.tr.Send(msg) }()
		var got []byte
		for i := 0; ; i++ {
			f := readFrame(t, nc)
			wantOp := ws.OpContinuation
			if i == 0 {
				wantOp = ws.OpText
			}
			if f.Header.OpCode != wantOp || f.Header.Length > MaxFragmentSize || f.Header.Masked {
				t.Fatalf("frame %d: %+v", i, f.Header)
			}
			got = append(got, f.Payload...)
			if f.Header.Fin {
				break
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("message differs")
		}
	})

	t.Run("peer close", func(t *testing.T) {
		writeRaw(t, nc, frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""), true))
		if code := closeCode(t, readFrame(t, nc)); code != ws.StatusNormalClosure {
			t.Fatalf("echoed code %d", code)
		}
		if err := sv.rec.waitClosed(t); err != nil {
			t.Fatalf("Closed(%v), want nil", err)
		}
		if err := sv.tr.Send([]byte("x")); !errors.Is(err, jstp.ErrTransportClosed) {
			t.Fatalf("Send after close: %v", err)
		}
	})
}

func TestServerFailsConnection(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		code  ws.StatusCode
	}{
		{
			name:  "frame over 8 MiB",
			bytes: cat(header(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: MaxMessageSize + 1}), []byte("abcd")),
			code:  ws.StatusMessageTooBig,
		},
		{
			name:  "fragments over 8 MiB",
			bytes: cat(frame(ws.OpText, false, []byte("a"), true), header(ws.Header{Fin: true, OpCode: ws.OpContinuation, Masked: true, Length: MaxMessageSize})),
			code:  ws.StatusMessageTooBig,
		},
		{
			name:  "unmasked frame",
			bytes: frame(ws.OpText, true, []byte("a"), false),
			code:  ws.StatusProtocolError,
		},
		{
			name:  "invalid UTF-8 text",
			bytes: frame(ws.OpText, true, []byte{0xc3}, true),
			code:  ws.StatusInvalidFramePayloadData,
		},
	}
	_, eng, url := startServer(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nc := dialRaw(t, url, ws.Dialer{})
			sv := eng.next(t)
			writeRaw(t, nc, c.bytes)
			if code := closeCode(t, readFrame(t, nc)); code != c.code {
				t.Fatalf("close code %d, want %d", code, c.code)
			}
			err := sv.rec.waitClosed(t)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != c.code {
				t.Fatalf("Closed(%v), want code %d", err, c.code)
			}
			// The server waits for our reply, then closes the socket.
			writeRaw(t, nc, frame(ws.OpClose, true, ws.NewCloseFrameBody(c.code, ""), true))
			_ = nc.SetReadDeadline(time.Now().Add(waitFor))
			if n, err := nc.Read(make([]byte, 1)); err == nil {
				t.Fatalf("read %d bytes after close, want end of stream", n)
			}
		})
	}
}

// TestPartialFramesAcrossReads writes a fragmented message with a ping in
// the middle one byte per write, so that the poller sees many readiness
// events with partial headers and payloads in between.
func TestPartialFramesAcrossReads(t *testing.T) {
	_, eng, url := startServer(t, nil)
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)
	long := strings.Repeat("L", 300) // 16-bit length
	stream := cat(
		frame(ws.OpText, false, []byte("{call:[1,"), true),
		frame(ws.OpPing, true, []byte("p"), true),
		frame(ws.OpContinuation, true, []byte("'"+long+"']}"), true),
		frame(ws.OpText, true, []byte("second"), true),
	)
	for i := range stream {
		writeRaw(t, nc, stream[i:i+1])
	}
	if got, want := string(sv.rec.next(t)), "{call:[1,'"+long+"']}"; got != want {
		t.Fatalf("got %q", got)
	}
	if got := string(sv.rec.next(t)); got != "second" {
		t.Fatalf("got %q", got)
	}
	if f := readFrame(t, nc); f.Header.OpCode != ws.OpPong || string(f.Payload) != "p" {
		t.Fatalf("got %+v", f.Header)
	}
}

// TestBytesWithTheUpgrade: a client that sends its first frame in the same
// write as its upgrade request loses nothing.
func TestBytesWithTheUpgrade(t *testing.T) {
	_, eng, url := startServer(t, nil)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + Subprotocol + "\r\n\r\n"
	writeRaw(t, nc, cat([]byte(req), frame(ws.OpText, true, []byte("early"), true)))
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(waitFor))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("response %v, %v", resp, err)
	}
	sv := eng.next(t)
	if got := string(sv.rec.next(t)); got != "early" {
		t.Fatalf("got %q", got)
	}
}

func TestUpgradeRejections(t *testing.T) {
	cfg := &ServerConfig{CheckOrigin: func(o string) bool { return o == "" || o == "http://good.example" }}
	_, _, url := startServer(t, cfg)
	httpURL := "http://" + strings.TrimPrefix(url, "ws://")
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")

	httpCases := []struct {
		name   string
		method string
		status int
	}{
		{name: "plain GET", method: http.MethodGet, status: http.StatusBadRequest},
		{name: "plain POST", method: http.MethodPost, status: http.StatusBadRequest},
	}
	for _, c := range httpCases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, httpURL, strings.NewReader(""))
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: waitFor}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}

	wsCases := []struct {
		name      string
		protocols []string
		origin    string
		status    int // 0: accepted
	}{
		{name: "no subprotocol", protocols: []string{}, status: http.StatusForbidden},
		{name: "other subprotocol", protocols: []string{"chat"}, status: http.StatusForbidden},
		{name: "among others", protocols: []string{"chat", Subprotocol}},
		{name: "origin refused", protocols: []string{Subprotocol}, origin: "http://evil.example", status: http.StatusForbidden},
		{name: "origin allowed", protocols: []string{Subprotocol}, origin: "http://good.example"},
	}
	for _, c := range wsCases {
		t.Run(c.name, func(t *testing.T) {
			d := ws.Dialer{Protocols: c.protocols, Timeout: waitFor}
			if c.origin != "" {
				d.Header = ws.HandshakeHeaderHTTP(http.Header{"Origin": {c.origin}})
			}
			var status int
			d.OnStatusError = func(s int, _ []byte, _ io.Reader) { status = s }
			nc, _, hs, err := d.Dial(context.Background(), url)
			if c.status == 0 {
				if err != nil || hs.Protocol != Subprotocol {
					t.Fatalf("dial: %v, protocol %q", err, hs.Protocol)
				}
				nc.Close()
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("upgrade accepted")
			}
			if status != c.status {
				t.Fatalf("status %d (%v), want %d", status, err, c.status)
			}
		})
	}

	t.Run("slow upgrade is cut", func(t *testing.T) {
		_, _, url := startServer(t, &ServerConfig{UpgradeTimeout: 100 * time.Millisecond})
		nc, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		writeRaw(t, nc, []byte("GET / HTTP/1.1\r\nHost: x\r\n"))
		_ = nc.SetReadDeadline(time.Now().Add(waitFor))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("want the server to close the connection, got %v", err)
		}
	})
	_ = addr
}

// TestIdleConnectionsHoldNoGoroutine counts goroutines with 200 idle,
// upgraded connections: none per connection with the poller, one per
// connection without it (which shows the count measures what it should).
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	const n = 200
	cases := []struct {
		name     string
		noPoll   bool
		minDelta int
		maxDelta int
	}{
		{name: "poller", noPoll: false, minDelta: -n, maxDelta: 10},
		{name: "goroutine per connection", noPoll: true, minDelta: n - 10, maxDelta: n + 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.noPoll && !pollSupported {
				t.Skip("no epoll on this system: every connection has a goroutine")
			}
			s, eng, url := startServer(t, &ServerConfig{NoPoll: c.noPoll})
			// A first connection starts the poller, which is shared.
			dialRaw(t, url, ws.Dialer{})
			eng.next(t)
			settled := func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(s.handshakes) == 0
			}
			eventually(t, "handshakes to end", settled)
			base := runtime.NumGoroutine()
			for range n {
				dialRaw(t, url, ws.Dialer{})
				eng.next(t)
			}
			var delta int
			defer func() {
				if t.Failed() {
					t.Logf("last delta %+d", delta)
				}
			}()
			eventually(t, "goroutine count to settle", func() bool {
				delta = runtime.NumGoroutine() - base
				return settled() && delta >= c.minDelta && delta <= c.maxDelta
			})
			t.Logf("%d idle connections: %+d goroutines", n, delta)
		})
	}
}

func TestCloseConcurrentWithSend(t *testing.T) {
	_, eng, url := startServer(t, nil)
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)
	// Drain what the server writes.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, nc)
	}()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		msg := bytes.Repeat([]byte("s"), 4096)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := sv.tr.Send(msg); err != nil {
				return
			}
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sv.tr.Close()
		}()
	}
	if err := sv.rec.waitClosed(t); err != nil {
		t.Fatalf("Closed(%v), want nil", err)
	}
	close(stop)
	wg.Wait()
	_ = sv.tr.Close()
	sv.tr.Break()
	if err := sv.tr.Send([]byte("x")); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	nc.Close()
	<-drained
}

func TestBreak(t *testing.T) {
	_, eng, url := startServer(t, nil)
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)
	sv.tr.Break()
	if err := sv.rec.waitClosed(t); !errors.Is(err, jstp.ErrTransportBroken) {
		t.Fatalf("Closed(%v)", err)
	}
	// No close frame: the client sees the end of the stream at once.
	_ = nc.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(nc)
	if err != nil || len(b) != 0 {
		t.Fatalf("read %q, %v; want a bare end of stream", b, err)
	}
}

func TestClientTransport(t *testing.T) {
	cases := []struct {
		name string
		tls  bool
	}{
		{name: "ws"},
		{name: "wss", tls: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg *ServerConfig
			var ccfg *Config
			if c.tls {
				srvTLS, cliTLS := testTLS(t)
				cfg = &ServerConfig{TLSConfig: srvTLS}
				ccfg = &Config{Dialer: ws.Dialer{TLSConfig: cliTLS}}
			}
			_, eng, url := startServer(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			tr, err := Dial(ctx, ccfg, url)
			if err != nil {
				t.Fatal(err)
			}
			rec := newRecorder(t)
			tr.Start(rec)
			sv := eng.next(t)

			big := bytes.Repeat([]byte("b"), 3*MaxFragmentSize+5)
			for _, msg := range [][]byte{[]byte("hello"), big} {
				if err := tr.Send(msg); err != nil {
					t.Fatal(err)
				}
				if got := sv.rec.next(t); !bytes.Equal(got, msg) {
					t.Fatalf("server got %d bytes, want %d", len(got), len(msg))
				}
				if err := sv.tr.Send(msg); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); !bytes.Equal(got, msg) {
					t.Fatalf("client got %d bytes, want %d", len(got), len(msg))
				}
			}
			if tr.RemoteAddr().String() != sv.tr.LocalAddr().String() || sv.tr.RemoteAddr().String() != tr.LocalAddr().String() {
				t.Fatalf("addresses: client %v→%v, server %v→%v", tr.LocalAddr(), tr.RemoteAddr(), sv.tr.LocalAddr(), sv.tr.RemoteAddr())
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			if err := rec.waitClosed(t); err != nil {
				t.Fatalf("client Closed(%v)", err)
			}
			if err := sv.rec.waitClosed(t); err != nil {
				t.Fatalf("server Closed(%v)", err)
			}
		})
	}
}

func TestClientBreak(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, err := Dial(context.Background(), nil, url)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	tr.Start(rec)
	sv := eng.next(t)
	tr.Break()
	if err := rec.waitClosed(t); !errors.Is(err, jstp.ErrTransportBroken) {
		t.Fatalf("client Closed(%v)", err)
	}
	if err := sv.rec.waitClosed(t); err == nil {
		t.Fatal("server Closed(nil) after an abrupt drop, want an error")
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	eng := newFakeEngine(t)
	s := newServer(eng, true, nil, 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	url := "ws://" + l.Addr().String() + "/"
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i] = dialRaw(t, url, ws.Dialer{})
		eng.next(t)
	}
	if s.Addr() == nil {
		t.Fatal("Addr is nil while serving")
	}
	// Each client answers the close frame, as a real peer does.
	var wg sync.WaitGroup
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := readFrame(t, nc)
			if code := closeCode(t, f); code != ws.StatusNormalClosure {
				t.Errorf("close code %d", code)
			}
			_, _ = nc.Write(frame(ws.OpClose, true, f.Payload, true))
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// Two concurrent Shutdowns: both return once everything is stopped.
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- s.Shutdown(ctx) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown returned %v", err)
	}
}

func TestHTTPHandler(t *testing.T) {
	eng := newFakeEngine(t)
	s := newServer(eng, true, nil, 0)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = s.Shutdown(ctx)
		hs.Close()
	})
	url := "ws://" + strings.TrimPrefix(hs.URL, "http://") + "/jstp"
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)
	writeRaw(t, nc, frame(ws.OpText, true, []byte("via http"), true))
	if got := string(sv.rec.next(t)); got != "via http" {
		t.Fatalf("got %q", got)
	}
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain request: %d", resp.StatusCode)
	}
	d := ws.Dialer{Protocols: []string{"chat"}}
	if c, _, _, err := d.Dial(context.Background(), url); err == nil {
		c.Close()
		t.Fatal("upgrade without the subprotocol accepted")
	}
}

// testTLS makes server and client TLS settings around a self-signed
// certificate for 127.0.0.1.
func testTLS(t testing.TB) (server, client *tls.Config) {
	cert, pool := wstest.SelfSigned(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

// TestListenAndServeTLS serves wss:// from PEM files, with a TLSConfig set
// too (which must not wrap the listener twice).
func TestListenAndServeTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	dir := t.TempDir()
	certFile, keyFile := dir+"/cert.pem", dir+"/key.pem"
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvTLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvTLS.Certificates[0].Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	eng := newFakeEngine(t)
	s := newServer(eng, true, &ServerConfig{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}, 0)
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServeTLS("127.0.0.1:0", certFile, keyFile) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = s.Shutdown(ctx)
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ListenAndServeTLS returned %v", err)
		}
	})
	eventually(t, "the listener", func() bool { return s.Addr() != nil })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	tr, err := Dial(ctx, &Config{Dialer: ws.Dialer{TLSConfig: cliTLS}}, "wss://"+s.Addr().String()+"/")
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	tr.Start(rec)
	sv := eng.next(t)
	if err := tr.Send([]byte("over tls")); err != nil {
		t.Fatal(err)
	}
	if got := string(sv.rec.next(t)); got != "over tls" {
		t.Fatalf("got %q", got)
	}
	tr.Close()
	rec.waitClosed(t)
}

// TestServerClose severs every connection without a closing handshake.
func TestServerClose(t *testing.T) {
	eng := newFakeEngine(t)
	s := newServer(eng, true, nil, 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	nc := dialRaw(t, "ws://"+l.Addr().String()+"/", ws.Dialer{})
	sv := eng.next(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	// The fake engine closed its transports cleanly first (as jstp.Server
	// does); what is left is cut. Either way the client sees the end.
	_ = nc.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("read: %v", err)
	}
	sv.rec.waitClosed(t)
}

// TestManyConnectionsReadyAtOnce: messages sent on many poller-driven
// connections at once, more than one epoll_wait returns (128), all arrive,
// in order per connection, with the default GOMAXPROCS and with one P
// (where a loop that kept its P in a blocking wait would stall the rest).
func TestManyConnectionsReadyAtOnce(t *testing.T) {
	if !pollSupported {
		t.Skip("no epoll on this system")
	}
	for _, procs := range []int{0, 1} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			if procs > 0 {
				prev := runtime.GOMAXPROCS(procs)
				t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
			}
			const n, rounds = 300, 3
			_, eng, url := startServer(t, nil)
			ncs := make([]net.Conn, n)
			svs := make([]served, n)
			for i := range ncs {
				ncs[i] = dialRaw(t, url, ws.Dialer{})
				svs[i] = eng.next(t)
			}
			for r := range rounds {
				for i, nc := range ncs {
					writeRaw(t, nc, frame(ws.OpText, true, fmt.Appendf(nil, "{m:[%d,%d]}", i, r), true))
				}
			}
			for r := range rounds {
				for i, sv := range svs {
					if got, want := string(sv.rec.next(t)), fmt.Sprintf("{m:[%d,%d]}", i, r); got != want {
						t.Fatalf("connection %d: got %q, want %q", i, got, want)
					}
				}
			}
		})
	}
}
