package gobwas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"
	jstp "github.com/jstp-go/jstp/core"
)

// sized returns a message of n bytes that tells where it is cut.
func sized(tag string, n int) []byte {
	return []byte(strings.Repeat(tag+"0123456789", n/(len(tag)+10)+1)[:n])
}

// shortMsgs returns n distinct messages of about size bytes.
func shortMsgs(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		m := fmt.Sprintf("{callback:[%d],ok:['", i)
		out[i] = []byte(m + strings.Repeat("v", max(size-len(m)-3, 0)) + "']}")
	}
	return out
}

func join(parts ...[][]byte) [][]byte {
	var out [][]byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func cloneAll(msgs [][]byte) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = bytes.Clone(m)
	}
	return out
}

// batchCases are batches SendBatch must deliver as separate messages, in
// order, with every frame within MaxFragmentSize.
var batchCases = []struct {
	name      string
	msgs      [][]byte
	maxWrites int // bound on Write calls
}{
	{"two short", [][]byte{[]byte("{callback:[1],ok:[3]}"), []byte("{callback:[2],ok:[5]}")}, 1},
	{"empty messages", [][]byte{{}, []byte("{a:1}"), {}, nil}, 1},
	{"many short", shortMsgs(2000, 100), 1},
	{"header sizes", [][]byte{sized("a", 125), sized("b", 126), sized("c", 0xffff), sized("d", 0x10000)}, 1},
	{"short ones over 1 MiB", shortMsgs(6000, 300), 2},
	{"exactly 1 MiB then short", [][]byte{sized("m", MaxFragmentSize), []byte("{x:1}")}, 2},
	{"over 1 MiB among short", [][]byte{[]byte("{a:1}"), sized("l", 5*MaxFragmentSize/2), []byte("{b:2}")}, 4},
	{"two just over 1 MiB", [][]byte{sized("p", MaxFragmentSize+1), sized("q", MaxFragmentSize+1)}, 4},
	{"non-ASCII", [][]byte{[]byte("{x:['ё']}"), []byte("{y:['日本']}")}, 1},
}

// writeLog records each Write call.
type writeLog struct {
	bytes.Buffer
	sizes []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// messagesOf reassembles the messages of a frame stream, checking every
// frame's header.
func messagesOf(t *testing.T, frames []ws.Frame, masked bool) [][]byte {
	t.Helper()
	var msgs [][]byte
	var cur []byte
	inMsg := false
	for i, f := range frames {
		h := f.Header
		if h.Masked != masked || h.Rsv != 0 {
			t.Fatalf("frame %d: header %+v", i, h)
		}
		if h.Length > MaxFragmentSize {
			t.Fatalf("frame %d of %d bytes exceeds 1 MiB", i, h.Length)
		}
		switch {
		case !inMsg && h.OpCode == ws.OpText:
			cur, inMsg = []byte{}, true
		case inMsg && h.OpCode == ws.OpContinuation:
		default:
			t.Fatalf("frame %d: opcode %d (in a message: %v)", i, h.OpCode, inMsg)
		}
		if inMsg && len(cur) > 0 && h.OpCode == ws.OpContinuation && len(cur)%MaxFragmentSize != 0 {
			t.Fatalf("frame %d continues a message after a short fragment", i)
		}
		cur = append(cur, f.Payload...)
		if h.Fin {
			msgs = append(msgs, cur)
			inMsg = false
		}
	}
	if inMsg {
		t.Fatal("stream ends inside a message")
	}
	return msgs
}

func TestWriteMessages(t *testing.T) {
	for _, c := range batchCases {
		for _, mask := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mask=%v", c.name, mask), func(t *testing.T) {
				orig := cloneAll(c.msgs)
				var w writeLog
				calls := 0
				if err := writeMessages(&w, c.msgs, mask, func() error { calls++; return nil }); err != nil {
					t.Fatal(err)
				}
				for i := range orig {
					if !bytes.Equal(c.msgs[i], orig[i]) {
						t.Fatalf("message %d was modified", i)
					}
				}
				if calls != len(w.sizes) {
					t.Errorf("before ran %d times for %d writes", calls, len(w.sizes))
				}
				if len(w.sizes) > c.maxWrites {
					t.Errorf("%d writes %v, want at most %d", len(w.sizes), w.sizes, c.maxWrites)
				}
				for _, n := range w.sizes {
					if n > maxPooledWrite {
						t.Errorf("a write of %d bytes, over %d", n, maxPooledWrite)
					}
				}
				got := messagesOf(t, readFrames(t, &w.Buffer), mask)
				if len(got) != len(orig) {
					t.Fatalf("%d messages, want %d", len(got), len(orig))
				}
				for i := range got {
					if !bytes.Equal(got[i], orig[i]) {
						t.Fatalf("message %d: %d bytes differ from the %d sent", i, len(got[i]), len(orig[i]))
					}
				}
			})
		}
	}
}

func TestWriteMessagesStops(t *testing.T) {
	stop := errors.New("stop")
	var w writeLog
	n := 0
	err := writeMessages(&w, join(shortMsgs(10, 100), [][]byte{sized("x", 2*MaxFragmentSize)}), false, func() error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(w.sizes) != 1 {
		t.Fatalf("err %v after %d writes; want the error of before, after one write", err, len(w.sizes))
	}
}

// dialPair returns a server-side transport (read by the epoll poller) and
// a client-side one, connected, each started with a recorder.
func dialPair(t *testing.T, tls bool) (sv served, cl *Transport, crec *recorder) {
	t.Helper()
	var cfg *ServerConfig
	var ccfg *Config
	if tls {
		srvTLS, cliTLS := testTLS(t)
		cfg = &ServerConfig{TLSConfig: srvTLS}
		ccfg = &Config{Dialer: ws.Dialer{TLSConfig: cliTLS}}
	}
	_, eng, url := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cl, err := Dial(ctx, ccfg, url)
	if err != nil {
		t.Fatal(err)
	}
	crec = newRecorder(t)
	cl.Start(crec)
	return eng.next(t), cl, crec
}

// TestSendBatch: a batch sent from either side arrives as separate
// messages, in order (the server checks that client frames are masked and
// fails the connection otherwise).
func TestSendBatch(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "ws"
		if tls {
			name = "wss"
		}
		t.Run(name, func(t *testing.T) {
			sv, cl, crec := dialPair(t, tls)
			for _, c := range batchCases {
				t.Run(c.name, func(t *testing.T) {
					sides := []struct {
						name string
						from *Transport
						to   *recorder
					}{
						{"server to client", sv.tr, crec},
						{"client to server", cl, sv.rec},
					}
					for _, s := range sides {
						orig := cloneAll(c.msgs)
						errc := make(chan error, 1)
						go func() { errc <- s.from.SendBatch(c.msgs) }()
						for i := range orig {
							if got := s.to.next(t); !bytes.Equal(got, orig[i]) {
								t.Fatalf("%s: message %d of %d bytes, want %d", s.name, i, len(got), len(orig[i]))
							}
						}
						if err := <-errc; err != nil {
							t.Fatalf("%s: SendBatch: %v", s.name, err)
						}
						for i := range orig {
							if !bytes.Equal(c.msgs[i], orig[i]) {
								t.Fatalf("%s: message %d was modified", s.name, i)
							}
						}
					}
				})
			}
			// Send and SendBatch interleave on one connection.
			if err := cl.Send([]byte("{after:1}")); err != nil {
				t.Fatal(err)
			}
			if got := sv.rec.next(t); string(got) != "{after:1}" {
				t.Fatalf("got %q", got)
			}
			if err := cl.Close(); err != nil {
				t.Fatal(err)
			}
			if err := crec.waitClosed(t); err != nil {
				t.Fatalf("client Closed(%v)", err)
			}
			if err := sv.rec.waitClosed(t); err != nil {
				t.Fatalf("server Closed(%v)", err)
			}
		})
	}
}

// TestSendBatchFragmentsOnTheWire reads what the server writes with the
// library's reader: frames unmasked, none over 1 MiB, messages in order.
func TestSendBatchFragmentsOnTheWire(t *testing.T) {
	_, eng, url := startServer(t, nil)
	nc := dialRaw(t, url, ws.Dialer{})
	sv := eng.next(t)
	batch := [][]byte{[]byte("{a:1}"), sized("z", 5*MaxFragmentSize/2), {}, sized("y", MaxFragmentSize+1), []byte("{b:2}")}
	errc := make(chan error, 1)
	go func() { errc <- sv.tr.SendBatch(batch) }()
	// 1 + 3 + 1 + 2 + 1 frames.
	frames := make([]ws.Frame, 8)
	for i := range frames {
		frames[i] = readFrame(t, nc)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got := messagesOf(t, frames, false)
	if len(got) != len(batch) {
		t.Fatalf("%d messages, want %d", len(got), len(batch))
	}
	for i := range got {
		if !bytes.Equal(got[i], batch[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
}

func TestSendBatchAfterClose(t *testing.T) {
	sv, cl, crec := dialPair(t, false)
	for _, tr := range []*Transport{sv.tr, cl} {
		tr.Close()
		for _, b := range [][][]byte{nil, {[]byte("a")}, shortMsgs(3, 40)} {
			if err := tr.SendBatch(b); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("SendBatch(%d messages) after Close: %v", len(b), err)
			}
		}
	}
	sv.rec.waitClosed(t)
	crec.waitClosed(t)
}

func TestSendBatchAfterBreak(t *testing.T) {
	sv, cl, crec := dialPair(t, false)
	cl.Break()
	if err := cl.SendBatch(shortMsgs(2, 10)); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch after Break: %v", err)
	}
	crec.waitClosed(t)
	sv.rec.waitClosed(t)
}

// TestCloseDuringSendBatch: Close races batches being written on both
// sides; every batch completes or reports ErrTransportClosed, and each
// receiver is told once.
func TestCloseDuringSendBatch(t *testing.T) {
	batch := join(shortMsgs(300, 500), [][]byte{sized("z", MaxFragmentSize+100)}, shortMsgs(10, 50))
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			_, eng, url := startServer(t, nil)
			var tr *Transport
			var rec *recorder
			var drained chan struct{}
			if side == "server" {
				nc := dialRaw(t, url, ws.Dialer{})
				sv := eng.next(t)
				tr, rec = sv.tr, sv.rec
				drained = make(chan struct{})
				go func() {
					defer close(drained)
					_, _ = io.Copy(io.Discard, nc)
				}()
				defer func() { nc.Close(); <-drained }()
			} else {
				var err error
				tr, err = Dial(context.Background(), nil, url)
				if err != nil {
					t.Fatal(err)
				}
				rec = newRecorder(t)
				tr.Start(rec)
				sv := eng.next(t)
				stop := make(chan struct{})
				drained := make(chan struct{})
				go func() { // the server's receiver keeps up
					defer close(drained)
					for {
						select {
						case <-sv.rec.msgs:
						case <-stop:
							return
						}
					}
				}()
				defer func() { sv.rec.waitClosed(t); close(stop); <-drained }()
			}
			var wg sync.WaitGroup
			var last atomic.Value
			sent := make(chan struct{}) // closed after the first batch (or error)
			var once sync.Once
			wg.Go(func() {
				for {
					if err := tr.SendBatch(batch); err != nil {
						last.Store(err)
						once.Do(func() { close(sent) })
						return
					}
					once.Do(func() { close(sent) })
				}
			})
			<-sent // batches are going out: close while they do
			for range 3 {
				wg.Go(func() { _ = tr.Close() })
			}
			if err := rec.waitClosed(t); err != nil {
				t.Fatalf("Closed(%v), want nil", err)
			}
			wg.Wait()
			if err, _ := last.Load().(error); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("SendBatch: %v, want ErrTransportClosed", err)
			}
			if err := tr.SendBatch(batch); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("SendBatch after Close: %v", err)
			}
		})
	}
}
