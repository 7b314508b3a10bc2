package nhooyr

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
)

// serveOn serves a fake engine on l until the test ends.
func serveOn(t testing.TB, l net.Listener, cfg *ServerConfig) *wstest.FakeEngine {
	t.Helper()
	_, eng := wstest.ServeOn(t, l, func(eng *wstest.FakeEngine) *Server { return newServer(eng, true, cfg) })
	return eng
}

var batchCases = []struct {
	name string
	msgs [][]byte
}{
	{"two short", [][]byte{[]byte("{callback:[1],ok:[3]}"), []byte("{callback:[2],ok:[5]}")}},
	{"empty messages", [][]byte{{}, []byte("{a:1}"), {}}},
	{"many short, over the cork limit", wstest.RepeatMsgs(1500, 1000)},
	{"long in the middle", [][]byte{[]byte("{a:1}"), wstest.Pattern(MaxFrameSize*5/2 + 7), []byte("{b:2}")}},
	{"exactly 1 MiB twice", [][]byte{wstest.Pattern(MaxFrameSize), wstest.Pattern(MaxFrameSize)}},
}

// TestSendBatch: a batch arrives as separate messages, in order, both
// ways, over ws and wss.
func TestSendBatch(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			var cfg *ServerConfig
			var config *Config
			if scheme == "wss" {
				cfg = &ServerConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
				config = tlsClientConfig(pool)
			}
			l := wstest.LocalListener(t)
			eng := serveOn(t, l, cfg)
			tr, rec := dial(t, scheme+"://"+l.Addr().String()+"/", config)
			s := eng.Next(t)
			if tr.cork == nil || s.Tr.(*transport).cork == nil {
				t.Fatal("no cork.Conn found under the library")
			}
			dirs := []struct {
				name string
				tr   jstp.Transport
				rec  *wstest.Recorder
			}{
				{"server to client", s.Tr, rec},
				{"client to server", tr, s.Rec},
			}
			for _, d := range dirs {
				for _, c := range batchCases {
					t.Run(d.name+"/"+c.name, func(t *testing.T) {
						// The receiver keeps only so many messages: read
						// while the batch goes out.
						sent := make(chan error, 1)
						go func() { sent <- d.tr.(jstp.BatchSender).SendBatch(c.msgs) }()
						for i, want := range c.msgs {
							if got := d.rec.WaitMessage(t); !bytes.Equal(got, want) {
								t.Fatalf("message %d: %d bytes, want %d", i, len(got), len(want))
							}
						}
						if err := <-sent; err != nil {
							t.Fatalf("SendBatch: %v", err)
						}
					})
				}
			}
		})
	}
}

// TestBatchFrames looks at the wire: a batch of short messages leaves in
// one write to the TCP connection, and longer messages in a batch are
// still fragmented at MaxFrameSize.
func TestBatchFrames(t *testing.T) {
	short := wstest.RepeatMsgs(10, 40)
	mixed := [][]byte{[]byte("{a:1}"), wstest.Pattern(MaxFrameSize*5/2 + 7), []byte("{b:2}"), wstest.Pattern(MaxFrameSize + 1)}
	check := func(t *testing.T, tr jstp.BatchSender, peer *wstest.RawPeer, writes *atomic.Int64) {
		before := writes.Load()
		if err := tr.SendBatch(short); err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
		if n := writes.Load() - before; n != 1 {
			t.Fatalf("a batch of %d short messages took %d writes, want 1", len(short), n)
		}
		for i, want := range short {
			frames, err := peer.ReadMessage()
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			if len(frames) != 1 {
				t.Fatalf("message %d in %d frames", i, len(frames))
			}
			checkFrames(t, frames, want)
		}
		sent := make(chan error, 1)
		go func() { sent <- tr.SendBatch(mixed) }()
		for i, want := range mixed {
			frames, err := peer.ReadMessage()
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			checkFrames(t, frames, want) // every frame within MaxFrameSize
		}
		if err := <-sent; err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
	}
	t.Run("server", func(t *testing.T) {
		var writes atomic.Int64
		l := wstest.LocalListener(t)
		eng := serveOn(t, wstest.CountListener{Listener: l, Writes: &writes}, nil)
		peer, _ := wstest.RawDial(t, l.Addr().String(), Subprotocol, nil)
		s := eng.Next(t)
		check(t, s.Tr.(jstp.BatchSender), peer, &writes)
	})
	t.Run("client", func(t *testing.T) {
		var writes atomic.Int64
		url, peers := wstest.RawListen(t, Subprotocol)
		tr, _ := dial(t, url, countingClientConfig(&writes))
		var peer *wstest.RawPeer
		select {
		case peer = <-peers:
		case <-time.After(waitLimit):
			t.Fatal("no connection")
		}
		defer peer.Conn.Close()
		check(t, tr, peer, &writes)
	})
}

// TestSendBatchCloseConcurrent: Close during batches ends them cleanly,
// the close handshake completes and Closed is called once; SendBatch after
// Close fails.
func TestSendBatchCloseConcurrent(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, rec := dial(t, url, nil)
	s := eng.Next(t)
	go func() { // the server's receiver keeps only so many messages
		for {
			select {
			case <-s.Rec.Msgs:
			case <-s.Rec.Done:
				return
			}
		}
	}()

	batch := append(wstest.RepeatMsgs(50, 100), wstest.Pattern(3*MaxFrameSize/2))
	var wg sync.WaitGroup
	wg.Add(3)
	sendErr := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			if i == 1 {
				close(started)
			}
			if err := tr.SendBatch(batch); err != nil {
				if i < 1 {
					close(started)
				}
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
		t.Fatalf("SendBatch during Close: %v, want ErrTransportClosed", err)
	}
	if err := rec.WaitClosed(t); err != nil {
		t.Fatalf("client Closed(%v), want nil", err)
	}
	if err := s.Rec.WaitClosed(t); err != nil {
		t.Fatalf("server Closed(%v), want nil", err)
	}
	if err := tr.SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if err := s.Tr.(jstp.BatchSender).SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("server SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if n := rec.Calls.Load(); n != 1 {
		t.Fatalf("Closed called %d times", n)
	}
}

// TestBatchControlFrames: a ping is answered and the closing handshake
// completes while the transport keeps sending batches.
func TestBatchControlFrames(t *testing.T) {
	_, eng, url := startServer(t, nil)
	peer, _ := wstest.RawDial(t, wstest.AddrOf(url), Subprotocol, nil)
	s := eng.Next(t)
	bs := s.Tr.(jstp.BatchSender)

	stop := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		batch := wstest.RepeatMsgs(20, 60)
		for {
			select {
			case <-stop:
				sendDone <- nil
				return
			default:
			}
			if err := bs.SendBatch(batch); err != nil {
				sendDone <- err
				return
			}
		}
	}()

	if err := peer.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpPing, Payload: []byte("are you there")}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := peer.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for pong: %v", err)
		}
		if f.Opcode == wstest.OpPong {
			if string(f.Payload) != "are you there" {
				t.Fatalf("pong %q", f.Payload)
			}
			break
		}
		if f.Opcode != wstest.OpText {
			t.Fatalf("unexpected opcode %d", f.Opcode)
		}
	}

	// Close while batches go out: the close frame must reach the peer.
	s.Tr.Close()
	code, err := peer.ReadClose()
	if err != nil {
		t.Fatalf("no close frame: %v", err)
	}
	if code != 1000 {
		t.Fatalf("close code %d", code)
	}
	if err := peer.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: wstest.ClosePayload(1000, "")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Rec.WaitClosed(t); err != nil {
		t.Fatalf("Closed(%v), want nil", err)
	}
	close(stop)
	if err := <-sendDone; err != nil && !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch: %v", err)
	}
}

func tlsClientConfig(pool *x509.CertPool) *Config {
	return &Config{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// countingClientConfig counts the writes to the TCP connections it dials.
func countingClientConfig(writes *atomic.Int64) *Config {
	var d net.Dialer
	return &Config{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wstest.CountConn{Conn: c, Writes: writes}, nil
		},
	}}}
}
