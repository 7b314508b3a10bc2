package nhooyr

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var sendSizes = []struct {
	name string
	size int
}{
	{"small", 100},
	{"exactly 1 MiB", MaxFrameSize},
	{"1 MiB + 1", MaxFrameSize + 1},
	{"2.5 MiB", MaxFrameSize*5/2 + 7},
}

func TestServerSendFragments(t *testing.T) {
	_, eng, url := startServer(t, nil)
	peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil)
	s := eng.Next(t)
	for _, tc := range sendSizes {
		t.Run(tc.name, func(t *testing.T) {
			msg := wstest.Pattern(tc.size)
			if err := s.Tr.Send(msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			frames, err := peer.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			wstest.CheckFrames(t, frames, msg, MaxFrameSize)
			if tc.size <= MaxFrameSize && len(frames) != 1 {
				t.Fatalf("%d frames for a message within MaxFrameSize", len(frames))
			}
		})
	}
}

func TestClientSendFragments(t *testing.T) {
	configs := []struct {
		name   string
		config *Config
	}{
		{"default dialer", nil},
		{"compression asked for", &Config{CompressionMode: websocket.CompressionContextTakeover}},
		{"own HTTP client", &Config{HTTPClient: &http.Client{Transport: &http.Transport{}}}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			url, peers := wstest.RawListen(t, Subprotocol)
			tr, _ := dial(t, url, c.config)
			var peer *wstest.RawPeer
			select {
			case peer = <-peers:
			case <-time.After(waitLimit):
				t.Fatal("no connection")
			}
			defer peer.Conn.Close()
			for _, tc := range sendSizes {
				msg := wstest.Pattern(tc.size)
				if err := tr.Send(msg); err != nil {
					t.Fatalf("%s: Send: %v", tc.name, err)
				}
				frames, err := peer.ReadMessage()
				if err != nil {
					t.Fatalf("%s: read: %v", tc.name, err)
				}
				wstest.CheckFrames(t, frames, msg, MaxFrameSize)
			}
		})
	}
}

func TestReadLimit(t *testing.T) {
	tests := []struct {
		name   string
		send   func(p *wstest.RawPeer) error
		wantOK int // length of the message that must arrive; 0: 1009 expected
	}{
		// The library counts payload as it reads it, so these send whole
		// frames: exactly one byte too many, so nothing is left unread.
		{"one frame over the limit", func(p *wstest.RawPeer) error {
			return p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: wstest.Pattern(MaxMessageSize + 1)})
		}, 0},
		{"fragments over the limit", func(p *wstest.RawPeer) error {
			if err := p.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: wstest.Pattern(MaxMessageSize / 2)}); err != nil {
				return err
			}
			return p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: wstest.Pattern(MaxMessageSize/2 + 1)})
		}, 0},
		{"exactly the limit", func(p *wstest.RawPeer) error {
			return p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: wstest.Pattern(MaxMessageSize)})
		}, MaxMessageSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, eng, url := startServer(t, nil)
			peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil)
			s := eng.Next(t)
			if err := tc.send(peer); err != nil {
				t.Fatalf("send: %v", err)
			}
			if tc.wantOK > 0 {
				if got := s.Rec.WaitMessage(t); len(got) != tc.wantOK {
					t.Fatalf("got %d bytes, want %d", len(got), tc.wantOK)
				}
				return
			}
			code, err := peer.ReadClose()
			if err != nil {
				t.Fatalf("no close frame: %v", err)
			}
			if code != int(websocket.StatusMessageTooBig) {
				t.Fatalf("close code %d, want 1009", code)
			}
			if err := s.Rec.WaitClosed(t); err == nil {
				t.Fatal("Receiver.Closed(nil) after an oversized message")
			}
		})
	}
}

func TestInbound(t *testing.T) {
	tests := []struct {
		name   string
		frames []wstest.Frame
		want   string
	}{
		{"text", []wstest.Frame{{Fin: true, Opcode: wstest.OpText, Payload: []byte("{ping:[1]}")}}, "{ping:[1]}"},
		{"binary", []wstest.Frame{{Fin: true, Opcode: wstest.OpBinary, Payload: []byte("{ping:[2]}")}}, "{ping:[2]}"},
		{"binary, not UTF-8", []wstest.Frame{{Fin: true, Opcode: wstest.OpBinary, Payload: []byte("a\xffb")}}, "a\uFFFDb"},
		{"fragmented, with a ping inside", []wstest.Frame{
			{Fin: false, Opcode: wstest.OpText, Payload: []byte("ab")},
			{Fin: true, Opcode: wstest.OpPing, Payload: []byte("x")},
			{Fin: false, Opcode: wstest.OpContinuation, Payload: []byte("cd")},
			{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("ef")},
		}, "abcdef"},
		{"fragmented binary", []wstest.Frame{
			{Fin: false, Opcode: wstest.OpBinary, Payload: []byte("gh")},
			{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("ij")},
		}, "ghij"},
	}
	_, eng, url := startServer(t, nil)
	peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil)
	s := eng.Next(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range tc.frames {
				if err := peer.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
			}
			if got := string(s.Rec.WaitMessage(t)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUpgrade(t *testing.T) {
	onlyExample := &ServerConfig{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://example.com"
	}}
	tests := []struct {
		name      string
		cfg       *ServerConfig
		protocols string
		header    http.Header
		want      int
	}{
		{"metarhia-jstp", nil, Subprotocol, nil, http.StatusSwitchingProtocols},
		{"among others", nil, "chat, " + Subprotocol, nil, http.StatusSwitchingProtocols},
		{"no subprotocol", nil, "", nil, http.StatusForbidden},
		{"wrong subprotocol", nil, "chat", nil, http.StatusForbidden},
		{"any origin by default", nil, Subprotocol, http.Header{"Origin": {"https://evil.example"}}, http.StatusSwitchingProtocols},
		{"origin allowed", onlyExample, Subprotocol, http.Header{"Origin": {"https://example.com"}}, http.StatusSwitchingProtocols},
		{"origin rejected", onlyExample, Subprotocol, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, eng, url := startServer(t, tc.cfg)
			_, status := wstest.RawDial(t, wstest.AddrOf(url), tc.protocols, tc.header)
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if status == http.StatusSwitchingProtocols {
				eng.Next(t)
			}
		})
	}
	t.Run("plain HTTP", func(t *testing.T) {
		_, _, url := startServer(t, nil)
		resp, err := http.Get("http://" + wstest.AddrOf(url) + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("client refuses a server without the subprotocol", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		// Agrees to no subprotocol.
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := websocket.Accept(w, r, nil); err == nil {
				c.CloseNow()
			}
		})}
		done := make(chan struct{})
		go func() { hs.Serve(l); close(done) }()
		t.Cleanup(func() { hs.Close(); <-done })
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if tr, err := Dialer(nil, "ws://"+l.Addr().String()+"/")(ctx); err == nil {
			tr.Close()
			t.Fatal("dial succeeded")
		}
	})
}

func TestCloseConcurrentWithSend(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, rec := dial(t, url, nil)
	s := eng.Next(t)

	var wg sync.WaitGroup
	wg.Add(3)
	sendErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		msg := wstest.Pattern(3 * MaxFrameSize / 2) // fragmented: Close lands between frames
		for {
			if err := tr.Send(msg); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	for range 2 {
		go func() {
			defer wg.Done()
			if err := tr.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := <-sendErr; !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("Send after Close: %v, want ErrTransportClosed", err)
	}
	if err := rec.WaitClosed(t); err != nil {
		t.Fatalf("client Closed(%v), want nil", err)
	}
	if err := s.Rec.WaitClosed(t); err != nil {
		t.Fatalf("server Closed(%v), want nil", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("third Close: %v", err)
	}
	if n := rec.Calls.Load(); n != 1 {
		t.Fatalf("Closed called %d times", n)
	}
}

func TestCloseBeforeStart(t *testing.T) {
	_, eng, url := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	tr, err := Dialer(nil, url)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr.Close()
	rec := wstest.NewRecorder()
	tr.Start(rec)
	if err := rec.WaitClosed(t); err != nil {
		t.Fatalf("Closed(%v), want nil", err)
	}
	if err := tr.Send([]byte("x")); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("Send: %v", err)
	}
	if err := eng.Next(t).Rec.WaitClosed(t); err != nil {
		t.Fatalf("server Closed(%v), want nil", err)
	}
}

func TestPeerEnds(t *testing.T) {
	tests := []struct {
		name    string
		end     func(p *wstest.RawPeer)
		wantErr bool
	}{
		{"close 1000", func(p *wstest.RawPeer) {
			p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: wstest.ClosePayload(1000, "")})
		}, false},
		{"close 1001", func(p *wstest.RawPeer) {
			p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: wstest.ClosePayload(1001, "bye")})
		}, false},
		{"close without code", func(p *wstest.RawPeer) { p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: nil}) }, false},
		{"close 1011", func(p *wstest.RawPeer) {
			p.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: wstest.ClosePayload(1011, "oops")})
		}, true},
		{"TCP dropped", func(p *wstest.RawPeer) { p.Conn.Close() }, true},
		{"garbage", func(p *wstest.RawPeer) { p.Conn.Write([]byte{0x7f, 0x85, 0, 0, 0, 0, 1, 2, 3, 4, 5}) }, true}, // reserved bits set
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, eng, url := startServer(t, nil)
			peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil)
			s := eng.Next(t)
			tc.end(peer)
			err := s.Rec.WaitClosed(t)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Closed(%v), want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestBreak(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, rec := dial(t, url, nil)
	s := eng.Next(t)
	tr.Break()
	if err := rec.WaitClosed(t); err == nil {
		t.Fatal("client Closed(nil) after Break")
	}
	if err := s.Rec.WaitClosed(t); err == nil {
		t.Fatal("server Closed(nil) after Break")
	}
}

func TestRemoteAddr(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, _ := dial(t, url, nil)
	s := eng.Next(t)
	if got, want := tr.RemoteAddr().String(), wstest.AddrOf(url); got != want {
		t.Fatalf("client RemoteAddr %s, want %s", got, want)
	}
	ra, ok := s.Tr.RemoteAddr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("server RemoteAddr is %T", s.Tr.RemoteAddr())
	}
	if ra.String() != tr.netConn.LocalAddr().String() {
		t.Fatalf("server RemoteAddr %s, want %s", ra, tr.netConn.LocalAddr())
	}
}

func TestSendTimeout(t *testing.T) {
	_, eng, url := startServer(t, nil)
	peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil) // never reads
	defer peer.Conn.Close()
	s := eng.Next(t)
	st := s.Tr.(*transport)
	st.writeTimeout = 200 * time.Millisecond
	msg := wstest.Pattern(4 << 20)
	deadline := time.Now().Add(waitLimit)
	for {
		err := st.Send(msg)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Send never timed out")
		}
	}
	if err := s.Rec.WaitClosed(t); err == nil {
		t.Fatal("Closed(nil) after a write timeout")
	}
}

func TestShutdown(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		eng := wstest.NewFakeEngine()
		srv := newServer(eng, true, nil)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveErr := make(chan error, 1)
		go func() { serveErr <- srv.Serve(l) }()
		url := "ws://" + l.Addr().String() + "/"
		var recs []*wstest.Recorder
		for range 3 {
			_, rec := dial(t, url, nil)
			recs = append(recs, rec)
			eng.Next(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		for i, rec := range recs {
			if err := rec.WaitClosed(t); err != nil {
				t.Fatalf("client %d: Closed(%v), want nil", i, err)
			}
		}
		if n := eng.Shutdowns.Load(); n != 1 {
			t.Fatalf("engine shut down %d times", n)
		}
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	})
	t.Run("deadline with a silent peer", func(t *testing.T) {
		eng := wstest.NewFakeEngine()
		srv := newServer(eng, true, nil)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveErr := make(chan error, 1)
		go func() { serveErr <- srv.Serve(l) }()
		peer, _ := wstest.RawDial(t, l.Addr().String(), Subprotocol, nil) // never answers the close frame
		s := eng.Next(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want deadline exceeded", err)
		}
		s.Rec.WaitClosed(t)
		if _, err := peer.ReadClose(); err != nil {
			t.Fatalf("peer got no close frame: %v", err)
		}
		<-serveErr
	})
}

func TestTLS(t *testing.T) {
	cert, pool := wstest.SelfSigned(t)
	eng := wstest.NewFakeEngine()
	srv := newServer(eng, true, &ServerConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		srv.Shutdown(ctx)
		<-serveErr
	})
	config := &Config{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	tr, rec := dial(t, "wss://"+l.Addr().String()+"/", config)
	s := eng.Next(t)
	if err := tr.Send([]byte("over TLS")); err != nil {
		t.Fatal(err)
	}
	if got := string(s.Rec.WaitMessage(t)); got != "over TLS" {
		t.Fatalf("server got %q", got)
	}
	if err := s.Tr.Send([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := string(rec.WaitMessage(t)); got != "back" {
		t.Fatalf("client got %q", got)
	}
	if !strings.HasPrefix(tr.RemoteAddr().String(), "127.0.0.1:") {
		t.Fatalf("RemoteAddr %s", tr.RemoteAddr())
	}
	// The server never agrees to HTTP/2, which has no WebSocket upgrade.
	tc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if p := tc.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Fatal("server negotiated h2")
	}
}
