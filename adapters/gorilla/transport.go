package gorilla

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	"github.com/jstp-go/jstp/adapters/internal/readbuf"
	jstp "github.com/jstp-go/jstp/core"
)

// transport is a jstp.Transport over one gorilla *websocket.Conn.
//
// gorilla allows one concurrent reader and one concurrent writer, plus
// WriteControl and Close from anywhere. The reader is the goroutine started
// by Start; the writer is Send, serialized by sendMu; Close only uses
// WriteControl and the underlying net.Conn.
type transport struct {
	ws     *websocket.Conn
	cork   *cork.Conn // the connection under ws, or under its TLS; nil: unknown, no batching
	remote net.Addr

	writeTimeout time.Duration // WriteTimeout; tests shorten it
	dlSet        time.Time     // when deadline was computed; under sendMu
	deadline     time.Time     // the write deadline last used; under sendMu

	// finished is called once when the transport has let go of everything
	// (its reader goroutine has returned, or it was closed before Start).
	finished func()
	finOnce  sync.Once

	sendMu sync.Mutex // held for the whole of one outgoing message

	mu         sync.Mutex
	started    bool
	closing    bool        // no more sends: closed locally, failed or reader done
	local      bool        // Close was called before the reader ended
	failErr    error       // why the transport failed on the write side
	readerDone bool        // the reader goroutine has finished its work
	killTimer  *time.Timer // cuts the connection if the close handshake stalls
}

func newTransport(ws *websocket.Conn, cork *cork.Conn, finished func()) *transport {
	ws.SetReadLimit(MaxMessageSize)
	if finished == nil {
		finished = func() {}
	}
	return &transport{ws: ws, cork: cork, remote: ws.RemoteAddr(), writeTimeout: WriteTimeout, finished: finished}
}

var (
	_ jstp.Transport   = (*transport)(nil)
	_ jstp.BatchSender = (*transport)(nil)
)

// Start begins reading messages in a goroutine of the transport's own, which
// ends when the connection closes.
func (t *transport) Start(r jstp.Receiver) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		panic("gorilla: Transport.Start called twice")
	}
	t.started = true
	closedEarly := t.closing
	t.mu.Unlock()
	if ender, ok := r.(jstp.BatchEnder); ok && t.cork != nil && !closedEarly {
		// gorilla reads the network only once it has handed out every
		// message it had read: the messages of that read are delivered.
		// Only the reader goroutine reads.
		t.cork.OnRead(ender.EndBatch)
	}
	if closedEarly {
		// Closed before Start: the connection is already gone and the
		// resources released, but the Receiver is still owed its Closed.
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
			typ int
			rd  io.Reader
		)
		typ, rd, err = t.ws.NextReader()
		if err != nil {
			break
		}
		// The library's reader enforces the read limit itself.
		var msg []byte
		if msg, err = buf.ReadAll(rd); err != nil {
			break
		}
		t.mu.Lock()
		drop := t.local
		t.mu.Unlock()
		if !drop {
			if typ == websocket.BinaryMessage && !utf8.Valid(msg) {
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
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
	local, failErr := t.local, t.failErr
	t.mu.Unlock()
	t.ws.UnderlyingConn().Close()

	switch {
	case failErr != nil:
		err = failErr
	case local:
		err = nil
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
		err = nil
	default:
		err = fmt.Errorf("gorilla: read: %w", err)
	}
	r.Closed(err)
}

func (t *transport) finish() { t.finOnce.Do(t.finished) }

// ReadsBatches implements jstp.ReadBatcher when the transport knows the
// connection under gorilla (always, for connections this package opens
// or accepts): before each read from the network, the reader calls
// EndBatch, since gorilla reads only once it has handed out what it
// already read.
func (t *transport) ReadsBatches() bool { return t.cork != nil }

// Send writes msg as one text message: a single frame up to MaxFrameSize,
// fragments of at most MaxFrameSize beyond that.
func (t *transport) Send(msg []byte) error {
	return t.SendBatch([][]byte{msg})
}

// SendBatch writes msgs as separate text messages, in order, each framed
// as Send frames it. With more than one, the connection is corked while
// gorilla writes them, so they reach the network together: one write
// system call for a batch of small messages (a buffer of over cork.Limit is
// written out early). The batch shares one write deadline.
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
// (jstp.PartsSender), with the deadline and failure handling of Send.
// gorilla copies each part into its write buffer (and masks it there, on
// the client side) or, on the server side, writes a long one as a frame of
// its own: it never writes into a part, so a long argument reaches the
// connection without being copied into a message first.
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
		t.failErr = fmt.Errorf("gorilla: write: %w", err)
	}
	t.mu.Unlock()
	// A failed or timed-out write leaves the connection unusable: cut it
	// so the reader learns of it too.
	t.ws.UnderlyingConn().Close()
	if closing {
		return jstp.ErrTransportClosed
	}
	return fmt.Errorf("gorilla: write: %w", err)
}

func (t *transport) writeParts(parts [][]byte) error {
	if err := t.ws.SetWriteDeadline(t.writeDeadline()); err != nil {
		return err
	}
	w, err := t.ws.NextWriter(websocket.TextMessage)
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
	deadline := t.writeDeadline()
	if err := t.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if t.cork == nil || len(msgs) < 2 {
		for _, msg := range msgs {
			if err := t.write(msg); err != nil {
				return err
			}
		}
		return nil
	}
	if err := t.cork.Cork(deadline); err != nil {
		return err
	}
	var err error
	for _, msg := range msgs {
		if err = t.write(msg); err != nil {
			break
		}
	}
	// Always uncork: a close frame written meanwhile must not stay behind.
	if uerr := t.cork.Uncork(deadline); err == nil {
		err = uerr
	}
	return err
}

func (t *transport) write(msg []byte) error {
	if len(msg) <= MaxFrameSize {
		return t.ws.WriteMessage(websocket.TextMessage, msg)
	}
	// gorilla sends a frame per Write of more than twice its write buffer on
	// the server side, and a frame per full write buffer (never larger than
	// MaxFrameSize, see clampWriteBuffer) on the client side: writing in
	// MaxFrameSize chunks keeps every frame within the limit either way.
	w, err := t.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if err := writeChunks(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// writeChunks writes b to w in chunks of at most MaxFrameSize bytes.
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
// the reader goroutine sees the peer's answer (or CloseTimeout passes) and
// then closes the connection and calls Receiver.Closed(nil).
func (t *transport) Close() error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return nil
	}
	t.closing, t.local = true, true
	started := t.started
	t.mu.Unlock()

	// WriteControl may run concurrently with a Send in progress: gorilla
	// slots the close frame in between two frames of the message.
	err := t.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(closeFrameTimeout))
	if !started {
		t.ws.UnderlyingConn().Close()
		t.finish()
		return nil
	}
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		t.ws.UnderlyingConn().Close()
		return nil
	}
	t.mu.Lock()
	if !t.readerDone {
		t.killTimer = time.AfterFunc(CloseTimeout, func() { t.ws.UnderlyingConn().Close() })
	}
	t.mu.Unlock()
	return nil
}

// Break severs the connection abruptly, as a network failure would: no
// close frame is sent and the Receiver is told of an error. It exists for
// tests (conformance.Factory.Break) and is safe to call at any time.
func (t *transport) Break() {
	t.ws.UnderlyingConn().Close()
}

// Cut is Break for a server shutting down: a transport the engine never
// started is also released, since no reader goroutine will do it.
func (t *transport) Cut() {
	t.ws.UnderlyingConn().Close()
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started {
		t.finish()
	}
}

// RemoteAddr returns the peer's address, taken from the TCP connection.
func (t *transport) RemoteAddr() net.Addr { return t.remote }
