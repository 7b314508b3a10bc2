package wstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	jstp "github.com/jstp-go/jstp/core"
)

// BatchAdapter describes a WebSocket adapter to the SendBatch tests shared
// by the adapters that batch by corking (gorilla, nhooyr): each Check
// method is one test, run by the adapter's test of the same name.
type BatchAdapter struct {
	// Subprotocol is the adapter's Subprotocol.
	Subprotocol string
	// MaxFrameSize is the adapter's MaxFrameSize.
	MaxFrameSize int
	// ServeOn serves the adapter's server over a new FakeEngine on l until
	// the test ends (see the package's ServeOn), over TLS with tlsCfg if
	// that is not nil.
	ServeOn func(t testing.TB, l net.Listener, tlsCfg *tls.Config) *FakeEngine
	// Dial opens and starts a client transport to url (see the package's
	// Dial), trusting roots for wss:// if not nil, and counting the writes
	// to the TCP connection in writes if not nil.
	Dial func(t testing.TB, url string, roots *x509.CertPool, writes *atomic.Int64) (jstp.Transport, *Recorder)
	// Corked reports whether the library writes tr's messages through a
	// cork.Conn.
	Corked func(tr jstp.Transport) bool
}

// start serves the adapter on a fresh port and returns its ws:// URL.
func (a BatchAdapter) start(t testing.TB) (net.Listener, *FakeEngine, string) {
	t.Helper()
	l := LocalListener(t)
	eng := a.ServeOn(t, l, nil)
	return l, eng, "ws://" + l.Addr().String() + "/"
}

// batchCase is a batch CheckSendBatch sends.
type batchCase struct {
	name string
	msgs [][]byte
}

// batchCases are the batches CheckSendBatch sends.
func (a BatchAdapter) batchCases() []batchCase {
	return []batchCase{
		{"two short", [][]byte{[]byte("{callback:[1],ok:[3]}"), []byte("{callback:[2],ok:[5]}")}},
		{"empty messages", [][]byte{{}, []byte("{a:1}"), {}}},
		{"many short, over the cork limit", RepeatMsgs(1500, 1000)},
		{"long in the middle", [][]byte{[]byte("{a:1}"), Pattern(a.MaxFrameSize*5/2 + 7), []byte("{b:2}")}},
		{"exactly 1 MiB twice", [][]byte{Pattern(a.MaxFrameSize), Pattern(a.MaxFrameSize)}},
	}
}

// CheckSendBatch: a batch arrives as separate messages, in order, both
// ways, over ws and wss.
func (a BatchAdapter) CheckSendBatch(t *testing.T) {
	cert, pool := SelfSigned(t)
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			var tlsCfg *tls.Config
			var roots *x509.CertPool
			if scheme == "wss" {
				tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
				roots = pool
			}
			l := LocalListener(t)
			eng := a.ServeOn(t, l, tlsCfg)
			tr, rec := a.Dial(t, scheme+"://"+l.Addr().String()+"/", roots, nil)
			s := eng.Next(t)
			if !a.Corked(tr) || !a.Corked(s.Tr) {
				t.Fatal("no cork.Conn found under the library")
			}
			dirs := []struct {
				name string
				tr   jstp.Transport
				rec  *Recorder
			}{
				{"server to client", s.Tr, rec},
				{"client to server", tr, s.Rec},
			}
			for _, d := range dirs {
				for _, c := range a.batchCases() {
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

// CheckBatchFrames looks at the wire: a batch of short messages leaves in
// one write to the TCP connection, and longer messages in a batch are
// still fragmented at MaxFrameSize.
func (a BatchAdapter) CheckBatchFrames(t *testing.T) {
	short := RepeatMsgs(10, 40)
	mixed := [][]byte{[]byte("{a:1}"), Pattern(a.MaxFrameSize*5/2 + 7), []byte("{b:2}"), Pattern(a.MaxFrameSize + 1)}
	check := func(t *testing.T, tr jstp.BatchSender, peer *RawPeer, writes *atomic.Int64) {
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
			CheckFrames(t, frames, want, a.MaxFrameSize)
		}
		sent := make(chan error, 1)
		go func() { sent <- tr.SendBatch(mixed) }()
		for i, want := range mixed {
			frames, err := peer.ReadMessage()
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			CheckFrames(t, frames, want, a.MaxFrameSize) // every frame within MaxFrameSize
		}
		if err := <-sent; err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
	}
	t.Run("server", func(t *testing.T) {
		var writes atomic.Int64
		l := LocalListener(t)
		eng := a.ServeOn(t, CountListener{Listener: l, Writes: &writes}, nil)
		peer, _ := RawDial(t, l.Addr().String(), a.Subprotocol, nil)
		s := eng.Next(t)
		check(t, s.Tr.(jstp.BatchSender), peer, &writes)
	})
	t.Run("client", func(t *testing.T) {
		var writes atomic.Int64
		url, peers := RawListen(t, a.Subprotocol)
		tr, _ := a.Dial(t, url, nil, &writes)
		peer := AcceptPeer(t, peers)
		defer peer.Conn.Close()
		check(t, tr.(jstp.BatchSender), peer, &writes)
	})
}

// CheckSendBatchCloseConcurrent: Close during batches ends them cleanly,
// the close handshake completes and Closed is called once; SendBatch after
// Close fails.
func (a BatchAdapter) CheckSendBatchCloseConcurrent(t *testing.T) {
	_, eng, url := a.start(t)
	tr, rec := a.Dial(t, url, nil, nil)
	bs := tr.(jstp.BatchSender)
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

	batch := append(RepeatMsgs(50, 100), Pattern(3*a.MaxFrameSize/2))
	closeDuringSends(t, tr, rec, s, func() error { return bs.SendBatch(batch) }, "SendBatch during Close", true)
	if err := bs.SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if err := s.Tr.(jstp.BatchSender).SendBatch(batch[:2]); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("server SendBatch after Close: %v, want ErrTransportClosed", err)
	}
	if n := rec.Calls.Load(); n != 1 {
		t.Fatalf("Closed called %d times", n)
	}
}

// CheckBatchControlFrames: a ping is answered and the closing handshake
// completes while the transport keeps sending batches.
func (a BatchAdapter) CheckBatchControlFrames(t *testing.T) {
	_, eng, url := a.start(t)
	peer, _ := RawDial(t, AddrOf(url), a.Subprotocol, nil)
	s := eng.Next(t)
	bs := s.Tr.(jstp.BatchSender)

	stop := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		batch := RepeatMsgs(20, 60)
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

	if err := peer.WriteFrame(Frame{Fin: true, Opcode: OpPing, Payload: []byte("are you there")}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := peer.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for pong: %v", err)
		}
		if f.Opcode == OpPong {
			if string(f.Payload) != "are you there" {
				t.Fatalf("pong %q", f.Payload)
			}
			break
		}
		if f.Opcode != OpText {
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
	if err := peer.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: ClosePayload(1000, "")}); err != nil {
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
