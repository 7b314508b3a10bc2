package nhooyr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	"github.com/jstp-go/jstp/adapters/internal/readbuf"
	jstp "github.com/jstp-go/jstp/core"
)

// transport is a jstp.Transport over one coder/websocket *Conn.
//
// coder/websocket allows one reader at a time and serializes writers
// itself; Close may run concurrently with both. The reader is the goroutine
// started by Start; the writer is Send, serialized by sendMu; Close runs the
// library's closing handshake in a goroutine of its own, because the
// library's Close blocks until the peer answers.
type transport struct {
	c       *websocket.Conn
	netConn net.Conn   // the TCP (or TLS) connection underneath; nil if unknown
	cork    *cork.Conn // the connection the library writes through; nil: unknown, no batching
	remote  net.Addr

	// readsBatches: the library reads through cork too, so the reader
	// can report the end of each read (jstp.ReadBatcher). inLibrary is set while the reader goroutine is
	// inside the library's read calls: the closing handshake reads on
	// another goroutine, which must not report anything.
	readsBatches bool
	inLibrary    atomic.Bool

	writeTimeout time.Duration // WriteTimeout; tests shorten it
	dlSet        time.Time     // when deadline was computed; under sendMu
	deadline     time.Time     // the write deadline last used; under sendMu

	// finished is called once when the transport has let go of everything
	// (its goroutines have returned).
	finished func()
	finOnce  sync.Once

	sendMu sync.Mutex // held for the whole of one outgoing message

	mu         sync.Mutex
	started    bool
	closing    bool          // no more sends: closed locally, failed or reader done
	local      bool          // Close was called before the reader ended
	failErr    error         // why the transport failed on the write side
	readerDone bool          // the reader goroutine has finished its work
	closeDone  chan struct{} // closed when the closing handshake goroutine ends
	killTimer  *time.Timer   // cuts the connection if the close handshake stalls
}

func newTransport(c *websocket.Conn, netConn net.Conn, cork *cork.Conn, remote net.Addr, finished func()) *transport {
	c.SetReadLimit(MaxMessageSize)
	if finished == nil {
		finished = func() {}
	}
	return &transport{
		c:            c,
		netConn:      netConn,
		cork:         cork,
		remote:       remote,
		writeTimeout: WriteTimeout,
		finished:     finished,
		closeDone:    make(chan struct{}),
	}
}

var (
	_ jstp.Transport   = (*transport)(nil)
	_ jstp.BatchSender = (*transport)(nil)
	_ jstp.ReadBatcher = (*transport)(nil)
)

// ReadsBatches implements jstp.ReadBatcher for the connections the
// library reads through the adapter's wrapper (those a Server accepts, and
// those Dialer opens with an *http.Transport): the reader calls EndBatch
// before each read from the network. Others report false.
func (t *transport) ReadsBatches() bool { return t.readsBatches }

// Start begins reading messages in a goroutine of the transport's own, which
// ends when the connection closes.
func (t *transport) Start(r jstp.Receiver) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		panic("nhooyr: Transport.Start called twice")
	}
	t.started = true
	closedEarly := t.closing
	t.mu.Unlock()
	if ender, ok := r.(jstp.BatchEnder); ok && t.readsBatches && !closedEarly {
		// The library reads the network only once it has handed out
		// every message it had read: the messages of that read are
		// delivered.
		t.cork.OnRead(func() {
			if t.inLibrary.Load() {
				ender.EndBatch()
			}
		})
	}
	if closedEarly {
		// Closed before Start: the Receiver is still owed its Closed.
		go r.Closed(nil)
		return
	}
	go t.read(r)
}

func (t *transport) read(r jstp.Receiver) {
	defer t.finish()
	var (
		buf readbuf.Buffer // the message being read; small between messages, large ones pooled
		err error
	)
	for {
		var (
			typ websocket.MessageType
			rd  io.Reader
		)
		// A context that never ends: cancelling a read context makes the
		// library cut the connection, which is Close's business here.
		t.inLibrary.Store(true)
		typ, rd, err = t.c.Reader(context.Background())
		if err != nil {
			t.inLibrary.Store(false)
			break
		}
		// The library's reader enforces the read limit itself.
		var msg []byte
		msg, err = buf.ReadAll(rd)
		t.inLibrary.Store(false)
		if err != nil {
			break
		}
		t.mu.Lock()
		drop := t.local
		t.mu.Unlock()
		if !drop {
			if typ == websocket.MessageBinary && !utf8.Valid(msg) {
				// The reference decodes a binary message as UTF-8 text,
				// replacing what is not UTF-8.
				msg = bytes.ToValidUTF8(msg, []byte("\uFFFD"))
			}
			r.Message(msg)
		}
		// The engine has copied what it keeps: a buffer borrowed for a
		// large message goes back to the pool at once, so an idle
		// connection holds at most readbuf.Keep.
		buf.Release()
	}

	t.mu.Lock()
	t.closing = true
	t.readerDone = true
	local, failErr := t.local, t.failErr
	t.mu.Unlock()
	if local {
		// Close's goroutine finishes the handshake and closes the
		// connection; wait for it so nothing outlives the transport.
		<-t.closeDone
	} else {
		t.c.CloseNow()
	}
	t.mu.Lock()
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
	t.mu.Unlock()

	switch code := websocket.CloseStatus(err); {
	case failErr != nil:
		err = failErr
	case local:
		err = nil
	case code == websocket.StatusNormalClosure, code == websocket.StatusGoingAway, code == websocket.StatusNoStatusRcvd:
		err = nil
	default:
		err = fmt.Errorf("nhooyr: read: %w", err)
	}
	r.Closed(err)
}

func (t *transport) finish() { t.finOnce.Do(t.finished) }

// Send writes msg as one text message: a single frame up to MaxFrameSize,
// fragments of at most MaxFrameSize beyond that.
func (t *transport) Send(msg []byte) error {
	return t.SendBatch([][]byte{msg})
}

// SendBatch writes msgs as separate text messages, in order, each framed
// as Send frames it. The connection is corked while the library writes
// them, so they reach the network together: one write system call for a
// batch of small messages (a buffer of over cork.Limit is written out
// early). The batch shares one write deadline.
func (t *transport) SendBatch(msgs [][]byte) error {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if t.isClosing() {
		return jstp.ErrTransportClosed
	}
	if err := t.writeBatch(msgs); err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// SendParts writes one text message, the concatenation of parts
// (jstp.PartsSender), with the deadline and failure handling of Send:
// each part is written in frames of at most MaxFrameSize. The library
// copies what it writes into its own buffer (and masks it there, on the
// client side) or writes a long part from the part itself, and never
// writes into one, so a long argument reaches the connection without
// being copied into a message first.
func (t *transport) SendParts(parts [][]byte) error {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if t.isClosing() {
		return jstp.ErrTransportClosed
	}
	if err := t.writeParts(parts); err != nil {
		return t.writeFailed(err)
	}
	return nil
}

func (t *transport) isClosing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closing
}

// writeFailed handles a failed write and returns what the send reports.
func (t *transport) writeFailed(err error) error {
	t.mu.Lock()
	closing := t.closing
	if !closing {
		t.closing = true
		t.failErr = fmt.Errorf("nhooyr: write: %w", err)
	}
	t.mu.Unlock()
	if closing {
		return jstp.ErrTransportClosed
	}
	// A failed or timed-out write leaves the connection unusable: cut it
	// so the reader learns of it too.
	t.c.CloseNow()
	return fmt.Errorf("nhooyr: write: %w", err)
}

// writeParts writes one message in parts, bounded as writeBatch bounds a
// message.
func (t *transport) writeParts(parts [][]byte) (err error) {
	ctx := context.Background()
	if t.cork == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.writeTimeout)
		defer cancel()
	} else {
		deadline := t.writeDeadline()
		if err := t.cork.Cork(deadline); err != nil {
			return err
		}
		defer func() {
			// Always uncork: a close frame written meanwhile must not
			// stay behind.
			if uerr := t.cork.Uncork(deadline); err == nil {
				err = uerr
			}
		}()
	}
	w, err := t.c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for _, part := range parts {
		if err := writeChunks(w, part); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// writeDeadline returns the write deadline for a send starting now:
// now+writeTimeout, except that one computed less than deadlineReuse ago
// is used again, so the connection's deadline (a runtime timer) is not
// reset for every message. A send so gets between writeTimeout-deadlineReuse
// and writeTimeout. It runs under sendMu.
func (t *transport) writeDeadline() time.Time {
	now := time.Now()
	reuse := min(deadlineReuse, t.writeTimeout/10)
	if t.deadline.IsZero() || now.Sub(t.dlSet) >= reuse {
		t.dlSet, t.deadline = now, now.Add(t.writeTimeout)
	}
	return t.deadline
}

func (t *transport) writeBatch(msgs [][]byte) error {
	if t.cork == nil {
		// The library's own timeout, per message: when ctx ends mid-write
		// it closes the connection.
		for _, msg := range msgs {
			ctx, cancel := context.WithTimeout(context.Background(), t.writeTimeout)
			err := t.write(ctx, msg)
			cancel()
			if err != nil {
				return err
			}
		}
		return nil
	}
	// Corked, the library's writes only fill the buffer; what reaches the
	// network (the uncork, or an early write of a full buffer) is bounded
	// by the connection's write deadline instead, so the library needs no
	// context timer.
	deadline := t.writeDeadline()
	if err := t.cork.Cork(deadline); err != nil {
		return err
	}
	var err error
	for _, msg := range msgs {
		if err = t.write(context.Background(), msg); err != nil {
			break
		}
	}
	// Always uncork: a close frame written meanwhile must not stay behind.
	if uerr := t.cork.Uncork(deadline); err == nil {
		err = uerr
	}
	return err
}

func (t *transport) write(ctx context.Context, msg []byte) error {
	if len(msg) <= MaxFrameSize {
		return t.c.Write(ctx, websocket.MessageText, msg) // one frame
	}
	// The library's message writer sends one frame per Write call
	// (compression is always off), so MaxFrameSize chunks make frames of at
	// most MaxFrameSize, and Close ends the message with an empty final one.
	w, err := t.c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	if err := writeChunks(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// writeChunks writes b to w in chunks of at most MaxFrameSize bytes (one
// frame each); nothing for an empty b.
func writeChunks(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), MaxFrameSize)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// Close starts the closing handshake and returns without waiting for it:
// the handshake runs in a goroutine that ends when the peer answers, or
// after CloseTimeout; then the reader goroutine calls Receiver.Closed(nil).
func (t *transport) Close() error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return nil
	}
	t.closing, t.local = true, true
	started := t.started
	if t.netConn != nil {
		t.killTimer = time.AfterFunc(CloseTimeout, func() { t.netConn.Close() })
	}
	t.mu.Unlock()

	go func() {
		defer close(t.closeDone)
		// The library writes the close frame (concurrently with a Send in
		// progress, between two of its frames), waits for the answer and
		// closes the connection; it bounds each step itself.
		t.c.Close(websocket.StatusNormalClosure, "")
		if !started {
			t.mu.Lock()
			if t.killTimer != nil {
				t.killTimer.Stop()
			}
			t.mu.Unlock()
			t.finish()
		}
	}()
	return nil
}

// Break severs the connection abruptly, as a network failure would: no
// close frame is sent and the Receiver is told of an error. It exists for
// tests (conformance.Factory.Break) and is safe to call at any time.
func (t *transport) Break() {
	if t.netConn != nil {
		t.netConn.Close()
		return
	}
	t.c.CloseNow()
}

// Cut is Break for a server shutting down: a transport the engine never
// started is also released, since no reader goroutine will do it.
func (t *transport) Cut() {
	t.Break()
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started {
		t.finish()
	}
}

// RemoteAddr returns the peer's address, taken from the TCP connection.
func (t *transport) RemoteAddr() net.Addr { return t.remote }
