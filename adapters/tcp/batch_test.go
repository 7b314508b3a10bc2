package tcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// batchCases are batches SendBatch must deliver as separate messages, in
// order, whatever their sizes.
var batchCases = []struct {
	name string
	msgs []string
}{
	{"two short", []string{"{callback:[1],ok:[3]}", "{callback:[2],ok:[5]}"}},
	{"empty messages", []string{"", "{a:1}", "", ""}},
	{"many short, over one buffer", repeatMsgs(3000, 100)},
	{"short at the buffer's edge", []string{
		strings.Repeat("e", maxRetainedWriteBuffer-1),
		strings.Repeat("f", maxRetainedWriteBuffer-2), "g",
		strings.Repeat("h", maxRetainedWriteBuffer-1),
	}},
	{"long in the middle", []string{"{a:1}", strings.Repeat("l", maxRetainedWriteBuffer+5), "{b:2}"}},
	{"long first and last", []string{strings.Repeat("p", maxRetainedWriteBuffer), "x", strings.Repeat("q", 3<<20)}},
	{"longs in a row", []string{strings.Repeat("r", 1<<20), strings.Repeat("s", maxRetainedWriteBuffer), "", strings.Repeat("t", 200<<10)}},
	{"non-ASCII", []string{"{x:['ё']}", "{y:['日本']}"}},
}

// repeatMsgs returns n distinct messages of size bytes each.
func repeatMsgs(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		m := fmt.Sprintf("{callback:[%d],ok:['", i)
		out[i] = m + strings.Repeat("v", size-len(m)-3) + "']}"
	}
	return out
}

func toBytes(msgs []string) [][]byte {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = []byte(m)
	}
	return out
}

func TestSendBatch(t *testing.T) {
	for _, p := range pairs {
		for _, c := range batchCases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				cc, sc := p.make(t)
				ct, st := NewTransport(cc), NewTransport(sc)
				cr, sr := newRecorder(t), newRecorder(t)
				ct.Start(cr)
				st.Start(sr)
				batch := toBytes(c.msgs)
				orig := toBytes(c.msgs)
				errc := make(chan error, 1)
				go func() { errc <- ct.(jstp.BatchSender).SendBatch(batch) }()
				for i, m := range c.msgs {
					if got := sr.next(t); got != m {
						t.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(m))
					}
				}
				if err := <-errc; err != nil {
					t.Fatalf("SendBatch: %v", err)
				}
				for i := range batch {
					if !bytes.Equal(batch[i], orig[i]) {
						t.Fatalf("message %d of the batch was modified", i)
					}
				}
				// A Send after a batch still frames correctly.
				if err := ct.Send([]byte("{after:1}")); err != nil {
					t.Fatal(err)
				}
				if got := sr.next(t); got != "{after:1}" {
					t.Fatalf("after the batch: got %q", got)
				}
				ct.Close()
				if err := sr.wait(t); err != nil {
					t.Errorf("peer Closed(%v), want nil", err)
				}
				st.Close()
				if err := cr.wait(t); err != nil {
					t.Errorf("Closed(%v), want nil", err)
				}
			})
		}
	}
}

// countingConn counts the writes that reach a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestSendBatchWrites checks how many writes a batch takes: one for short
// messages that fit in the buffer, and no copy of a long message.
func TestSendBatchWrites(t *testing.T) {
	long := strings.Repeat("L", maxRetainedWriteBuffer)
	cases := []struct {
		name   string
		msgs   []string
		writes int32 // Write calls on a connection without writev
	}{
		{"short ones", repeatMsgs(100, 200), 1},
		{"just fits", []string{strings.Repeat("a", maxRetainedWriteBuffer/2-1), strings.Repeat("b", maxRetainedWriteBuffer/2-1)}, 1},
		{"one byte over", []string{strings.Repeat("a", maxRetainedWriteBuffer/2), strings.Repeat("b", maxRetainedWriteBuffer/2-1)}, 2},
		{"over two buffers", repeatMsgs(1000, 150), 3},
		// Buffered bytes, then the long message (two writes without
		// writev), then its NUL with what follows.
		{"long in the middle", []string{"a", long, "b"}, 3},
		{"longs only", []string{long, long}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkWrites(t, func(tr jstp.Transport) error {
				return tr.(jstp.BatchSender).SendBatch(toBytes(c.msgs))
			}, c.writes, strings.Join(c.msgs, "\x00")+"\x00")
		})
	}
}

// checkWrites runs send on a transport over a net.Pipe without writev
// (never started), and checks how many writes reached the connection and
// the stream the peer read.
func checkWrites(t *testing.T, send func(jstp.Transport) error, writes int32, want string) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &countingConn{Conn: a}
	tr := NewTransport(cc)
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&got, b)
	}()
	if err := send(tr); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load(); n != writes {
		t.Errorf("%d writes, want %d", n, writes)
	}
	tr.Close() // not started: closes the pipe at once
	<-done
	if got.String() != want {
		t.Fatalf("stream of %d bytes differs from the %d expected", got.Len(), len(want))
	}
}

// TestSendBatchRejectsNUL: a batch with one message holding a NUL is
// refused whole, before anything is written, and the transport stays
// usable, as after a refused Send.
func TestSendBatchRejectsNUL(t *testing.T) {
	cases := []struct {
		name string
		msgs []string
	}{
		{"first", []string{"a\x00", "b"}},
		{"middle", []string{"a", "b\x00c", "d"}},
		{"last of many", append(repeatMsgs(500, 300), "\x00")},
		{"after a long one", []string{strings.Repeat("l", maxRetainedWriteBuffer+1), "\x00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRefusedNUL(t, func(tr jstp.Transport) error {
				return tr.(jstp.BatchSender).SendBatch(toBytes(c.msgs))
			})
		})
	}
}

// checkRefusedNUL checks that send, on a started tcp transport, fails with
// ErrNULInMessage before writing anything, and that a Send after it
// reaches the peer first.
func checkRefusedNUL(t *testing.T, send func(jstp.Transport) error) {
	t.Helper()
	cc, sc := tcpPair(t)
	ct, st := NewTransport(cc), NewTransport(sc)
	cr, sr := newRecorder(t), newRecorder(t)
	ct.Start(cr)
	st.Start(sr)
	if err := send(ct); !errors.Is(err, ErrNULInMessage) {
		t.Fatalf("%v, want ErrNULInMessage", err)
	}
	if err := ct.Send([]byte("{next:1}")); err != nil {
		t.Fatal(err)
	}
	if got := sr.next(t); got != "{next:1}" {
		t.Fatalf("the peer got %d bytes first: part of the refused message was written", len(got))
	}
	ct.Close()
	sr.wait(t)
	st.Close()
	cr.wait(t)
}

func TestSendBatchAfterClose(t *testing.T) {
	for _, started := range []bool{false, true} {
		t.Run(fmt.Sprintf("started=%v", started), func(t *testing.T) {
			c, _ := tcpPair(t)
			tr := NewTransport(c)
			rec := newRecorder(t)
			if started {
				tr.Start(rec)
			}
			tr.Close()
			for _, batch := range [][][]byte{nil, {[]byte("a")}, toBytes(repeatMsgs(3, 50))} {
				if err := tr.(jstp.BatchSender).SendBatch(batch); !errors.Is(err, jstp.ErrTransportClosed) {
					t.Fatalf("SendBatch(%d messages) after Close: %v", len(batch), err)
				}
			}
			if !started {
				tr.Start(rec)
			}
			rec.wait(t)
		})
	}
}

// TestCloseDuringSendBatch: Close races batches being written; every
// batch either completes or reports ErrTransportClosed, and the receiver
// is told once, cleanly.
func TestCloseDuringSendBatch(t *testing.T) {
	batch := toBytes(append(repeatMsgs(200, 400), strings.Repeat("z", 300<<10), "{end:1}"))
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			go io.Copy(io.Discard, s) // the peer reads, never writes
			tr := NewTransport(c)
			rec := newRecorder(t)
			tr.Start(rec)
			bs := tr.(jstp.BatchSender)
			var wg sync.WaitGroup
			var last atomic.Value
			sent := make(chan struct{}) // closed after the first batch (or error)
			var once sync.Once
			wg.Go(func() {
				for {
					if err := bs.SendBatch(batch); err != nil {
						last.Store(err)
						once.Do(func() { close(sent) })
						return
					}
					once.Do(func() { close(sent) })
				}
			})
			<-sent // batches are going out: close while they do
			for range 3 {
				wg.Go(func() { tr.Close() })
			}
			wg.Wait()
			if err, _ := last.Load().(error); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("SendBatch: %v, want ErrTransportClosed", err)
			}
			s.Close()
			if err := rec.wait(t); err != nil {
				t.Fatalf("Closed(%v), want nil", err)
			}
			if err := bs.SendBatch(batch); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("SendBatch after Close: %v", err)
			}
		})
	}
}

// stallingConn is a net.Conn whose writes stop making progress once limit
// bytes have gone through, as those of a peer that stopped reading do when
// the socket buffers are full. stalled is closed when a write first blocks;
// Close unblocks it with net.ErrClosed, and a write deadline set in the
// past with os.ErrDeadlineExceeded.
type stallingConn struct {
	net.Conn
	limit     int
	written   int // touched by the one writer only
	stalled   chan struct{}
	stallOnce sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	expired   chan struct{}
	expOnce   sync.Once
}

func newStallingConn(c net.Conn, limit int) *stallingConn {
	return &stallingConn{Conn: c, limit: limit, stalled: make(chan struct{}),
		closed: make(chan struct{}), expired: make(chan struct{})}
}

func (c *stallingConn) SetWriteDeadline(d time.Time) error {
	if !d.IsZero() && !d.After(time.Now()) {
		c.expOnce.Do(func() { close(c.expired) })
	}
	return c.Conn.SetWriteDeadline(d)
}

func (c *stallingConn) Write(p []byte) (int, error) {
	if room := c.limit - c.written; room > 0 {
		n, err := c.Conn.Write(p[:min(room, len(p))])
		c.written += n
		if err != nil || n == len(p) {
			return n, err
		}
		p = p[n:]
	}
	c.stallOnce.Do(func() { close(c.stalled) })
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case <-c.expired:
		return 0, os.ErrDeadlineExceeded
	}
}

func (c *stallingConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestCloseUnblocksSendBatch: a batch stuck in a write that makes no
// progress returns once Close is called.
func TestCloseUnblocksSendBatch(t *testing.T) {
	batch := toBytes([]string{"{a:1}", strings.Repeat("z", 4<<20), "{b:2}"})
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			sc := newStallingConn(c, 64<<10)
			tr := newTransport(sc, nil)
			tr.writeTimeout = time.Hour
			rec := newRecorder(t)
			tr.Start(rec)
			go io.Copy(io.Discard, s) // the peer reads what gets through
			done := make(chan error, 1)
			go func() { done <- tr.SendBatch(batch) }()
			select {
			case <-sc.stalled:
			case err := <-done:
				t.Fatalf("SendBatch returned %v before its write stalled", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the write did not stall within 10 s")
			}
			tr.Close()
			select {
			case err := <-done:
				if !errors.Is(err, jstp.ErrTransportClosed) {
					t.Fatalf("SendBatch: %v, want ErrTransportClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("SendBatch still blocked 10 s after Close")
			}
			s.Close()
			rec.wait(t)
		})
	}
}

func TestSendBatchWriteTimeout(t *testing.T) {
	c, _ := tcpPair(t) // the peer never reads
	tr := newTransport(c, nil)
	tr.writeTimeout = 50 * time.Millisecond
	rec := newRecorder(t)
	tr.Start(rec)
	batch := toBytes(append(repeatMsgs(100, 1000), strings.Repeat("w", 1<<20)))
	var err error
	for err == nil {
		err = tr.SendBatch(batch)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("SendBatch: %v, want a timeout", err)
	}
	if err := rec.wait(t); err == nil {
		t.Fatal("Closed(nil) after a write timeout")
	}
	if err := tr.SendBatch(batch); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendBatch after the failure: %v", err)
	}
}
