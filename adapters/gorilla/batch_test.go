package gorilla

import (
	"bytes"
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

	"github.com/gorilla/websocket"
	jstp "github.com/jstp-go/jstp/core"
)

// countConn counts the writes that reach a connection.
type countConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// countListener wraps what it accepts in a countConn.
type countListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countConn{c, l.writes}, nil
}

// serveOn serves a fake engine on l until the test ends.
func serveOn(t testing.TB, l net.Listener, cfg *ServerConfig) *fakeEngine {
	t.Helper()
	eng := newFakeEngine()
	srv := newServer(eng, true, cfg)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return eng
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// repeatMsgs returns n distinct messages of size bytes each.
func repeatMsgs(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		m := fmt.Sprintf("{callback:[%d],ok:['", i)
		out[i] = []byte(m + strings.Repeat("v", size-len(m)-3) + "']}")
	}
	return out
}

var batchCases = []struct {
	name string
	msgs [][]byte
}{
	{"two short", [][]byte{[]byte("{callback:[1],ok:[3]}"), []byte("{callback:[2],ok:[5]}")}},
	{"empty messages", [][]byte{{}, []byte("{a:1}"), {}}},
	{"many short, over the cork limit", repeatMsgs(1500, 1000)},
	{"long in the middle", [][]byte{[]byte("{a:1}"), pattern(MaxFrameSize*5/2 + 7), []byte("{b:2}")}},
	{"exactly 1 MiB twice", [][]byte{pattern(MaxFrameSize), pattern(MaxFrameSize)}},
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
			l := listen(t)
			eng := serveOn(t, l, cfg)
			tr, rec := dial(t, scheme+"://"+l.Addr().String()+"/", config)
			s := eng.next(t)
			if tr.cork == nil || s.tr.(*transport).cork == nil {
				t.Fatal("no corkConn found under the library")
			}
			dirs := []struct {
				name string
				tr   jstp.Transport
				rec  *recorder
			}{
				{"server to client", s.tr, rec},
				{"client to server", tr, s.rec},
			}
			for _, d := range dirs {
				for _, c := range batchCases {
					t.Run(d.name+"/"+c.name, func(t *testing.T) {
						// The receiver keeps only so many messages: read
						// while the batch goes out.
						sent := make(chan error, 1)
						go func() { sent <- d.tr.(jstp.BatchSender).SendBatch(c.msgs) }()
						for i, want := range c.msgs {
							if got := d.rec.message(t); !bytes.Equal(got, want) {
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
	short := repeatMsgs(10, 40)
	mixed := [][]byte{[]byte("{a:1}"), pattern(MaxFrameSize*5/2 + 7), []byte("{b:2}"), pattern(MaxFrameSize + 1)}
	check := func(t *testing.T, tr jstp.BatchSender, peer *rawPeer, writes *atomic.Int64) {
		before := writes.Load()
		if err := tr.SendBatch(short); err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
		if n := writes.Load() - before; n != 1 {
			t.Fatalf("a batch of %d short messages took %d writes, want 1", len(short), n)
		}
		for i, want := range short {
			frames, err := peer.readMessage()
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
			frames, err := peer.readMessage()
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
		l := listen(t)
		eng := serveOn(t, countListener{l, &writes}, nil)
		peer, _ := rawDial(t, l.Addr().String(), Subprotocol, nil)
		s := eng.next(t)
		check(t, s.tr.(jstp.BatchSender), peer, &writes)
	})
	t.Run("client", func(t *testing.T) {
		var writes atomic.Int64
		url, peers := rawListen(t)
		tr, _ := dial(t, url, countingClientConfig(&writes))
		var peer *rawPeer
		select {
		case peer = <-peers:
		case <-time.After(waitLimit):
			t.Fatal("no connection")
		}
		defer peer.conn.Close()
		check(t, tr, peer, &writes)
	})
}

// TestSendBatchCloseConcurrent: Close during batches ends them cleanly,
// the close handshake completes and Closed is called once; SendBatch after
// Close fails.
func TestSendBatchCloseConcurrent(t *testing.T) {
	_, eng, url := startServer(t, nil)
	tr, rec := dial(t, url, nil)
	s := eng.next(t)
	go func() { // the server's receiver keeps only so many messages
		for {
			select {
			case <-s.rec.msgs:
			case <-s.rec.done:
				return
			}
		}
	}()

	batch := append(repeatMsgs(50, 100), pattern(3*MaxFrameSize/2))
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
	if err := rec.waitClosed(t); err != nil {
		t.Fatalf("client Closed(%v), want nil", err)
	}
	if err := s.rec.waitClosed(t); err != nil {
		t.Fatalf("server Closed(%v), want nil", err)
	}
	if err := tr.SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if err := s.tr.(jstp.BatchSender).SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("server SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if n := rec.ncalled.Load(); n != 1 {
		t.Fatalf("Closed called %d times", n)
	}
}

// TestBatchControlFrames: a ping is answered and the closing handshake
// completes while the transport keeps sending batches.
func TestBatchControlFrames(t *testing.T) {
	_, eng, url := startServer(t, nil)
	peer, _ := rawDial(t, addrOf(url), Subprotocol, nil)
	s := eng.next(t)
	bs := s.tr.(jstp.BatchSender)

	stop := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		batch := repeatMsgs(20, 60)
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

	if err := peer.writeFrame(frame{true, opPing, []byte("are you there")}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := peer.readFrame()
		if err != nil {
			t.Fatalf("waiting for pong: %v", err)
		}
		if f.opcode == opPong {
			if string(f.payload) != "are you there" {
				t.Fatalf("pong %q", f.payload)
			}
			break
		}
		if f.opcode != opText {
			t.Fatalf("unexpected opcode %d", f.opcode)
		}
	}

	// Close while batches go out: the close frame must reach the peer.
	s.tr.Close()
	code, err := peer.readClose()
	if err != nil {
		t.Fatalf("no close frame: %v", err)
	}
	if code != 1000 {
		t.Fatalf("close code %d", code)
	}
	if err := peer.writeFrame(frame{true, opClose, closePayload(1000, "")}); err != nil {
		t.Fatal(err)
	}
	if err := s.rec.waitClosed(t); err != nil {
		t.Fatalf("Closed(%v), want nil", err)
	}
	close(stop)
	if err := <-sendDone; err != nil && !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch: %v", err)
	}
}

func tlsClientConfig(pool *x509.CertPool) *Config {
	return &Config{Dialer: &websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// countingClientConfig counts the writes to the TCP connections it dials.
func countingClientConfig(writes *atomic.Int64) *Config {
	var d net.Dialer
	return &Config{Dialer: &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countConn{c, writes}, nil
		},
	}}
}
