package wstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// Adapter describes an adapter built on a WebSocket library's connection
// type (gorilla, nhooyr) to the transport tests those adapters share; C is
// the adapter's client Config type. The fields are the hooks for what
// differs between the libraries; Run runs every test, the SendBatch tests
// of BatchAdapter included.
type Adapter[C any] struct {
	// Subprotocol is the adapter's Subprotocol.
	Subprotocol string
	// MaxFrameSize is the adapter's MaxFrameSize.
	MaxFrameSize int
	// MaxMessageSize is the adapter's MaxMessageSize.
	MaxMessageSize int

	// NewServer makes the adapter's server over eng, which it owns (it
	// shuts eng down with itself), with the settings in opts.
	NewServer func(eng *FakeEngine, opts ServerOptions) Server
	// Dialer is the adapter's Dialer: it returns a jstp.Dialer for url
	// with config, or with the defaults if config is nil.
	Dialer func(config *C, url string) jstp.Dialer
	// TLSClient returns a client config that trusts roots for wss://.
	TLSClient func(roots *x509.CertPool) *C
	// CountingClient returns a client config that counts the writes to the
	// TCP connection in writes.
	CountingClient func(writes *atomic.Int64) *C
	// ClientVariants are client configs, besides the defaults, that
	// ClientSendFragments tries.
	ClientVariants []ClientVariant[C]

	// WholeOversizeFrames makes ReadLimit send the frames that go over
	// MaxMessageSize whole, for a library that counts payload as it reads
	// it. Otherwise only their headers are sent, and the library must
	// refuse them from the length alone.
	WholeOversizeFrames bool
	// RefuseSubprotocol upgrades r to a WebSocket connection with the
	// library, agreeing to no subprotocol, and closes the connection.
	RefuseSubprotocol func(w http.ResponseWriter, r *http.Request)
	// LocalAddr returns the local address of the network connection under
	// a client transport.
	LocalAddr func(tr jstp.Transport) net.Addr
	// SetWriteTimeout sets the write timeout of tr (made by the adapter's
	// server and not yet sending) to d.
	SetWriteTimeout func(tr jstp.Transport, d time.Duration)
	// Corked reports whether the library writes tr's messages through a
	// cork.Conn.
	Corked func(tr jstp.Transport) bool
}

// ServerOptions are the server settings the shared tests vary. The zero
// value is the adapter's defaults.
type ServerOptions struct {
	// TLSConfig, when set, makes the server speak TLS (wss://).
	TLSConfig *tls.Config
	// CheckOrigin, when set, decides which upgrade requests to accept.
	CheckOrigin func(r *http.Request) bool
}

// ClientVariant is a named client config of the adapter.
type ClientVariant[C any] struct {
	Name   string
	Config *C
}

// Run runs every shared test as a subtest named after it.
func (a Adapter[C]) Run(t *testing.T) {
	b := a.batch()
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"SendBatch", b.CheckSendBatch},
		{"BatchFrames", b.CheckBatchFrames},
		{"SendBatchCloseConcurrent", b.CheckSendBatchCloseConcurrent},
		{"BatchControlFrames", b.CheckBatchControlFrames},
		{"ServerSendFragments", a.CheckServerSendFragments},
		{"ClientSendFragments", a.CheckClientSendFragments},
		{"SendParts", a.CheckSendParts},
		{"PartsFrames", a.CheckPartsFrames},
		{"ReadLimit", a.CheckReadLimit},
		{"Inbound", a.CheckInbound},
		{"Upgrade", a.CheckUpgrade},
		{"CloseConcurrentWithSend", a.CheckCloseConcurrentWithSend},
		{"CloseBeforeStart", a.CheckCloseBeforeStart},
		{"PeerEnds", a.CheckPeerEnds},
		{"Break", a.CheckBreak},
		{"RemoteAddr", a.CheckRemoteAddr},
		{"SendTimeout", a.CheckSendTimeout},
		{"Shutdown", a.CheckShutdown},
		{"TLS", a.CheckTLS},
		{"ReadBatches", a.CheckReadBatches},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// batch describes the adapter to the SendBatch tests.
func (a Adapter[C]) batch() BatchAdapter {
	return BatchAdapter{
		Subprotocol:  a.Subprotocol,
		MaxFrameSize: a.MaxFrameSize,
		ServeOn: func(t testing.TB, l net.Listener, tlsCfg *tls.Config) *FakeEngine {
			t.Helper()
			_, eng := ServeOn(t, l, a.server(ServerOptions{TLSConfig: tlsCfg}))
			return eng
		},
		Dial: func(t testing.TB, url string, roots *x509.CertPool, writes *atomic.Int64) (jstp.Transport, *Recorder) {
			t.Helper()
			var config *C
			switch {
			case roots != nil && writes != nil:
				t.Fatal("wstest.Adapter: TLS and write counting together are not supported")
			case roots != nil:
				config = a.TLSClient(roots)
			case writes != nil:
				config = a.CountingClient(writes)
			}
			return Dial(t, a.Dialer(config, url))
		},
		Corked: a.Corked,
	}
}

// server returns the maker of the adapter's server with opts, as
// StartServer and ServeOn take it.
func (a Adapter[C]) server(opts ServerOptions) func(*FakeEngine) Server {
	return func(eng *FakeEngine) Server { return a.NewServer(eng, opts) }
}

// start serves the adapter's server with opts over a new FakeEngine on a
// fresh port until the test ends, and returns the engine and the ws://
// URL.
func (a Adapter[C]) start(t testing.TB, opts ServerOptions) (*FakeEngine, string) {
	t.Helper()
	_, eng, url := StartServer(t, a.server(opts))
	return eng, url
}

// dial opens a client transport to url with the default settings and
// starts it with a new Recorder, as Dial does.
func (a Adapter[C]) dial(t testing.TB, url string) (jstp.Transport, *Recorder) {
	t.Helper()
	return Dial(t, a.Dialer(nil, url))
}

// sendSize is a message length the fragmentation tests send.
type sendSize struct {
	name string
	size int
}

// sendSizes are the message lengths the fragmentation tests send: within
// one frame, exactly one, just over one, and several.
func (a Adapter[C]) sendSizes() []sendSize {
	return []sendSize{
		{"small", 100},
		{"exactly 1 MiB", a.MaxFrameSize},
		{"1 MiB + 1", a.MaxFrameSize + 1},
		{"2.5 MiB", a.MaxFrameSize*5/2 + 7},
	}
}

// CheckServerSendFragments: a server transport sends a message within
// MaxFrameSize as one frame and a longer one in fragments of at most
// MaxFrameSize.
func (a Adapter[C]) CheckServerSendFragments(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil)
	s := eng.Next(t)
	for _, tc := range a.sendSizes() {
		t.Run(tc.name, func(t *testing.T) {
			msg := Pattern(tc.size)
			if err := s.Tr.Send(msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			frames, err := peer.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			CheckFrames(t, frames, msg, a.MaxFrameSize)
			if tc.size <= a.MaxFrameSize && len(frames) != 1 {
				t.Fatalf("%d frames for a message within MaxFrameSize", len(frames))
			}
		})
	}
}

// CheckClientSendFragments: a client transport, with the default settings
// and with each of ClientVariants, fragments messages at MaxFrameSize.
func (a Adapter[C]) CheckClientSendFragments(t *testing.T) {
	variants := append([]ClientVariant[C]{{"default dialer", nil}}, a.ClientVariants...)
	for _, v := range variants {
		t.Run(v.Name, func(t *testing.T) {
			url, peers := RawListen(t, a.Subprotocol)
			tr, _ := Dial(t, a.Dialer(v.Config, url))
			peer := AcceptPeer(t, peers)
			defer peer.Conn.Close()
			for _, tc := range a.sendSizes() {
				msg := Pattern(tc.size)
				if err := tr.Send(msg); err != nil {
					t.Fatalf("%s: Send: %v", tc.name, err)
				}
				frames, err := peer.ReadMessage()
				if err != nil {
					t.Fatalf("%s: read: %v", tc.name, err)
				}
				CheckFrames(t, frames, msg, a.MaxFrameSize)
			}
		})
	}
}

// CheckReadLimit: a message of MaxMessageSize arrives; one byte more, in
// one frame or in fragments, ends the connection with close code 1009 and
// an error for the Receiver.
func (a Adapter[C]) CheckReadLimit(t *testing.T) {
	// overFrame sends a frame of n bytes: whole, or only its header (see
	// WholeOversizeFrames).
	overFrame := func(p *RawPeer, opcode byte, n int) error {
		if a.WholeOversizeFrames {
			return p.WriteFrame(Frame{Fin: true, Opcode: opcode, Payload: Pattern(n)})
		}
		return p.WriteHeader(true, opcode, n, nil)
	}
	limit := a.MaxMessageSize
	tests := []struct {
		name   string
		send   func(p *RawPeer) error
		wantOK int // length of the message that must arrive; 0: 1009 expected
	}{
		{"one frame over the limit", func(p *RawPeer) error {
			return overFrame(p, OpText, limit+1)
		}, 0},
		{"fragments over the limit", func(p *RawPeer) error {
			if err := p.WriteFrame(Frame{Opcode: OpText, Payload: Pattern(limit / 2)}); err != nil {
				return err
			}
			return overFrame(p, OpContinuation, limit/2+1)
		}, 0},
		{"exactly the limit", func(p *RawPeer) error {
			return p.WriteFrame(Frame{Fin: true, Opcode: OpText, Payload: Pattern(limit)})
		}, limit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng, url := a.start(t, ServerOptions{})
			peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil)
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
			if code != 1009 { // message too big
				t.Fatalf("close code %d, want 1009", code)
			}
			if err := s.Rec.WaitClosed(t); err == nil {
				t.Fatal("Receiver.Closed(nil) after an oversized message")
			}
		})
	}
}

// CheckInbound: text and binary messages, whole or fragmented (with a
// ping between fragments), arrive as text; a binary message that is not
// UTF-8 has its invalid bytes replaced.
func (a Adapter[C]) CheckInbound(t *testing.T) {
	tests := []struct {
		name   string
		frames []Frame
		want   string
	}{
		{"text", []Frame{{Fin: true, Opcode: OpText, Payload: []byte("{ping:[1]}")}}, "{ping:[1]}"},
		{"binary", []Frame{{Fin: true, Opcode: OpBinary, Payload: []byte("{ping:[2]}")}}, "{ping:[2]}"},
		{"binary, not UTF-8", []Frame{{Fin: true, Opcode: OpBinary, Payload: []byte("a\xffb")}}, "a\uFFFDb"},
		{"fragmented, with a ping inside", []Frame{
			{Fin: false, Opcode: OpText, Payload: []byte("ab")},
			{Fin: true, Opcode: OpPing, Payload: []byte("x")},
			{Fin: false, Opcode: OpContinuation, Payload: []byte("cd")},
			{Fin: true, Opcode: OpContinuation, Payload: []byte("ef")},
		}, "abcdef"},
		{"fragmented binary", []Frame{
			{Fin: false, Opcode: OpBinary, Payload: []byte("gh")},
			{Fin: true, Opcode: OpContinuation, Payload: []byte("ij")},
		}, "ghij"},
	}
	eng, url := a.start(t, ServerOptions{})
	peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil)
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

// CheckUpgrade: the server upgrades a request only with Subprotocol among
// the offered ones and from an origin CheckOrigin accepts (any by
// default), answers a plain HTTP request with 400, and the client refuses
// a server that agrees to no subprotocol.
func (a Adapter[C]) CheckUpgrade(t *testing.T) {
	onlyExample := ServerOptions{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://example.com"
	}}
	tests := []struct {
		name      string
		opts      ServerOptions
		protocols string
		header    http.Header
		want      int
	}{
		{"metarhia-jstp", ServerOptions{}, a.Subprotocol, nil, http.StatusSwitchingProtocols},
		{"among others", ServerOptions{}, "chat, " + a.Subprotocol, nil, http.StatusSwitchingProtocols},
		{"no subprotocol", ServerOptions{}, "", nil, http.StatusForbidden},
		{"wrong subprotocol", ServerOptions{}, "chat", nil, http.StatusForbidden},
		{"any origin by default", ServerOptions{}, a.Subprotocol, http.Header{"Origin": {"https://evil.example"}}, http.StatusSwitchingProtocols},
		{"origin allowed", onlyExample, a.Subprotocol, http.Header{"Origin": {"https://example.com"}}, http.StatusSwitchingProtocols},
		{"origin rejected", onlyExample, a.Subprotocol, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng, url := a.start(t, tc.opts)
			_, status := RawDial(t, AddrOf(url), tc.protocols, tc.header)
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if status == http.StatusSwitchingProtocols {
				eng.Next(t)
			}
		})
	}
	t.Run("plain HTTP", func(t *testing.T) {
		_, url := a.start(t, ServerOptions{})
		resp, err := http.Get("http://" + AddrOf(url) + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("client refuses a server without the subprotocol", func(t *testing.T) {
		l := LocalListener(t)
		hs := &http.Server{Handler: http.HandlerFunc(a.RefuseSubprotocol)}
		done := make(chan struct{})
		go func() { hs.Serve(l); close(done) }()
		t.Cleanup(func() { hs.Close(); <-done })
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		defer cancel()
		if tr, err := a.Dialer(nil, "ws://"+l.Addr().String()+"/")(ctx); err == nil {
			tr.Close()
			t.Fatal("dial succeeded")
		}
	})
}

// closeDuringSends calls send in a loop until it fails, while two
// goroutines call tr.Close at once, as soon as the loop starts or, with
// afterFirst, once the first send has returned. It checks that the loop
// ends with ErrTransportClosed (what names the failing send in the
// message), that both Closes succeed, and that the client's Receiver (rec)
// and the server's (s) are told of a clean close.
func closeDuringSends(t *testing.T, tr jstp.Transport, rec *Recorder, s Served, send func() error, what string, afterFirst bool) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(3)
	sendErr := make(chan error, 1)
	started := make(chan struct{})
	if !afterFirst {
		close(started)
	}
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			err := send()
			if afterFirst && i == 0 {
				close(started)
			}
			if err != nil {
				sendErr <- err
				return
			}
		}
	}()
	<-started
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
		t.Fatalf("%s: %v, want ErrTransportClosed", what, err)
	}
	if err := rec.WaitClosed(t); err != nil {
		t.Fatalf("client Closed(%v), want nil", err)
	}
	if err := s.Rec.WaitClosed(t); err != nil {
		t.Fatalf("server Closed(%v), want nil", err)
	}
}

// CheckCloseConcurrentWithSend: two Closes during a Send loop of
// fragmented messages end it with ErrTransportClosed and close both sides
// cleanly; a third Close succeeds, and Closed is called once.
func (a Adapter[C]) CheckCloseConcurrentWithSend(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	tr, rec := a.dial(t, url)
	s := eng.Next(t)
	msg := Pattern(3 * a.MaxFrameSize / 2) // fragmented: Close lands between frames
	closeDuringSends(t, tr, rec, s, func() error { return tr.Send(msg) }, "Send after Close", false)
	if err := tr.Close(); err != nil {
		t.Fatalf("third Close: %v", err)
	}
	if n := rec.Calls.Load(); n != 1 {
		t.Fatalf("Closed called %d times", n)
	}
}

// CheckCloseBeforeStart: a client transport closed (twice) before Start
// tells its Receiver of a clean close when started, refuses to send, and
// the server sees a clean close too.
func (a Adapter[C]) CheckCloseBeforeStart(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	tr, err := a.Dialer(nil, url)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr.Close()
	rec := NewRecorder()
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

// CheckPeerEnds: the Receiver is told of a clean close after a close frame
// with code 1000, 1001 or none, and of an error after code 1011, a
// dropped TCP connection or a malformed frame.
func (a Adapter[C]) CheckPeerEnds(t *testing.T) {
	tests := []struct {
		name    string
		end     func(p *RawPeer)
		wantErr bool
	}{
		{"close 1000", func(p *RawPeer) {
			p.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: ClosePayload(1000, "")})
		}, false},
		{"close 1001", func(p *RawPeer) {
			p.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: ClosePayload(1001, "bye")})
		}, false},
		{"close without code", func(p *RawPeer) { p.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: nil}) }, false},
		{"close 1011", func(p *RawPeer) {
			p.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: ClosePayload(1011, "oops")})
		}, true},
		{"TCP dropped", func(p *RawPeer) { p.Conn.Close() }, true},
		{"garbage", func(p *RawPeer) { p.Conn.Write([]byte{0x7f, 0x85, 0, 0, 0, 0, 1, 2, 3, 4, 5}) }, true}, // reserved bits set
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng, url := a.start(t, ServerOptions{})
			peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil)
			s := eng.Next(t)
			tc.end(peer)
			err := s.Rec.WaitClosed(t)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Closed(%v), want error: %v", err, tc.wantErr)
			}
		})
	}
}

// CheckBreak: a client transport's Break gives both Receivers an error.
func (a Adapter[C]) CheckBreak(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	tr, rec := a.dial(t, url)
	s := eng.Next(t)
	b, ok := tr.(interface{ Break() })
	if !ok {
		t.Fatalf("client transport %T has no Break method", tr)
	}
	b.Break()
	if err := rec.WaitClosed(t); err == nil {
		t.Fatal("client Closed(nil) after Break")
	}
	if err := s.Rec.WaitClosed(t); err == nil {
		t.Fatal("server Closed(nil) after Break")
	}
}

// CheckRemoteAddr: each side's RemoteAddr is the other side's TCP address.
func (a Adapter[C]) CheckRemoteAddr(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	tr, _ := a.dial(t, url)
	s := eng.Next(t)
	if got, want := tr.RemoteAddr().String(), AddrOf(url); got != want {
		t.Fatalf("client RemoteAddr %s, want %s", got, want)
	}
	ra, ok := s.Tr.RemoteAddr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("server RemoteAddr is %T", s.Tr.RemoteAddr())
	}
	if local := a.LocalAddr(tr); ra.String() != local.String() {
		t.Fatalf("server RemoteAddr %s, want %s", ra, local)
	}
}

// CheckSendTimeout: Send to a peer that never reads fails once the write
// timeout passes, and the Receiver is told of an error.
func (a Adapter[C]) CheckSendTimeout(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil) // never reads
	defer peer.Conn.Close()
	s := eng.Next(t)
	a.SetWriteTimeout(s.Tr, 200*time.Millisecond)
	msg := Pattern(4 << 20)
	deadline := time.Now().Add(WaitLimit)
	for {
		err := s.Tr.Send(msg)
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

// serveFresh serves srv on a fresh 127.0.0.1 port in a goroutine of its
// own and returns the listener and the channel on which Serve's result
// arrives. Stopping srv is the caller's business.
func serveFresh(t testing.TB, srv Server) (net.Listener, <-chan error) {
	t.Helper()
	l := LocalListener(t)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	return l, serveErr
}

// CheckShutdown: Shutdown closes every connection cleanly, shuts the
// engine down once and ends Serve; with a peer that never answers the
// close frame it returns at the context's deadline.
func (a Adapter[C]) CheckShutdown(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		eng := NewFakeEngine()
		srv := a.NewServer(eng, ServerOptions{})
		l, serveErr := serveFresh(t, srv)
		url := "ws://" + l.Addr().String() + "/"
		var recs []*Recorder
		for range 3 {
			_, rec := a.dial(t, url)
			recs = append(recs, rec)
			eng.Next(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
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
		eng := NewFakeEngine()
		srv := a.NewServer(eng, ServerOptions{})
		l, serveErr := serveFresh(t, srv)
		peer, _ := RawDial(t, l.Addr().String(), a.Subprotocol, nil) // never answers the close frame
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

// startTLS serves the adapter's server with cert (wss://) over a new
// FakeEngine on a fresh port until the test ends, and returns the engine,
// the wss:// URL and the listener.
func (a Adapter[C]) startTLS(t testing.TB, cert tls.Certificate) (*FakeEngine, string, net.Listener) {
	t.Helper()
	eng := NewFakeEngine()
	srv := a.NewServer(eng, ServerOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	l, serveErr := serveFresh(t, srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		defer cancel()
		srv.Shutdown(ctx)
		<-serveErr
	})
	return eng, "wss://" + l.Addr().String() + "/", l
}

// CheckTLS: messages go both ways over wss://, and the server never
// agrees to HTTP/2, which has no WebSocket upgrade.
func (a Adapter[C]) CheckTLS(t *testing.T) {
	cert, pool := SelfSigned(t)
	eng, url, l := a.startTLS(t, cert)
	tr, rec := Dial(t, a.Dialer(a.TLSClient(pool), url))
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
	tc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if p := tc.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Fatal("server negotiated h2")
	}
}

// CheckReadBatches checks jstp.ReadBatcher on both sides of a connection,
// over ws:// and wss://: each transport reports it, and once a burst of
// messages from the peer is delivered its Receiver gets EndBatch with no
// further input, that is before the reader waits for more, and never
// during a Message.
func (a Adapter[C]) CheckReadBatches(t *testing.T) {
	cert, pool := SelfSigned(t)
	for _, secure := range []bool{false, true} {
		name := "ws"
		if secure {
			name = "wss"
		}
		t.Run(name, func(t *testing.T) {
			var (
				eng *FakeEngine
				url string
				cfg *C
			)
			if secure {
				eng, url, _ = a.startTLS(t, cert)
				cfg = a.TLSClient(pool)
			} else {
				eng, url = a.start(t, ServerOptions{})
			}
			tr, rec := Dial(t, a.Dialer(cfg, url))
			s := eng.Next(t)
			for _, side := range []struct {
				name     string
				from, to jstp.Transport
				rec      *Recorder
			}{
				{"server reads", tr, s.Tr, s.Rec},
				{"client reads", s.Tr, tr, rec},
			} {
				if rb, ok := side.to.(jstp.ReadBatcher); !ok || !rb.ReadsBatches() {
					t.Fatalf("%s: the transport does not report its reads", side.name)
				}
				const n = 50
				msgs := make([][]byte, n)
				for i := range msgs {
					msgs[i] = []byte(fmt.Sprintf("{event:[%d,'x'],e:[]}", i))
				}
				if err := side.from.(jstp.BatchSender).SendBatch(msgs); err != nil {
					t.Fatalf("%s: SendBatch: %v", side.name, err)
				}
				for i := range msgs {
					if got := side.rec.WaitMessage(t); string(got) != string(msgs[i]) {
						t.Fatalf("%s: message %d is %q, want %q", side.name, i, got, msgs[i])
					}
				}
				side.rec.WaitEndBatch(t, n)
			}
		})
	}
}
