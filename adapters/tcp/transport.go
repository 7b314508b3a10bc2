package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
	"github.com/jstp-go/jstp/core/mdsf"
)

// WriteTimeout bounds one Send: a peer that does not read for this long
// has stalled, and the connection is closed with the write error. (The
// deadline is renewed at most every tenth of it, so a stalled write fails
// after between nine tenths of WriteTimeout and all of it.)
const WriteTimeout = 10 * time.Second

// CloseTimeout is how long a clean Close waits, after sending its end of
// the stream (FIN, or close_notify then FIN over TLS), for the peer to
// close its own end before the socket is closed outright. Waiting lets
// the peer read everything sent before the close, where closing a socket
// with unread input would reset it.
const CloseTimeout = 2 * time.Second

// discardBufferSize is the size of the buffer a closing transport reads
// into and drops.
const discardBufferSize = 4 << 10

// maxRetainedWriteBuffer is the largest write buffer a transport keeps
// between Sends; larger messages are written with writev instead of a copy.
// SendBatch coalesces shorter messages into a buffer of this size.
const maxRetainedWriteBuffer = 64 << 10

// ErrNULInMessage is returned by Send for a message containing a NUL byte,
// which would break the framing, and wrapped in what SendBatch returns for a
// batch holding one. Serialized JSTP messages never do.
var ErrNULInMessage = errors.New("tcp: message contains a NUL byte")

var errStopDelivery = errors.New("tcp: transport closing")

var nul = []byte{0}

var _ jstp.BatchSender = (*transport)(nil)

// transport frames JSTP messages over a stream connection.
type transport struct {
	conn  net.Conn
	addr  net.Addr
	hooks *hooks // server accounting; nil for a client transport

	writeTimeout time.Duration // WriteTimeout; shorter in tests
	armedAt      time.Time     // when armWrite last set the write deadline

	raw net.Conn // conn itself, or the connection under a *tls.Conn

	closing   atomic.Bool // set once the transport starts closing, for any reason
	sending   atomic.Bool // a Send is under way
	halfClose atomic.Bool // Close asks the reader to end the stream cleanly

	mu      sync.Mutex
	started bool
	closed  bool  // the close reason below is decided
	err     error // what Receiver.Closed reports
	recv    jstp.Receiver

	wbuf []byte   // reused by Send, SendBatch and SendParts (which the engine never runs concurrently)
	vbuf [][]byte // reused by SendParts

	split mdsf.Splitter // the reader goroutine's, and TakeMessage's (called from it)
}

// NewTransport returns a jstp.Transport that frames JSTP messages over c,
// each followed by one NUL byte, as the reference's net and tls transports
// do. c may be any stream connection (TCP, TLS, Unix, or a net.Pipe end);
// the transport owns it from now on.
//
// One goroutine per transport reads from c once Start is called. Send
// writes each message in one write, bounded by WriteTimeout; the transport
// is also a jstp.BatchSender, whose SendBatch writes messages that queued
// up together in as few writes as it can. Close sends
// the end of the stream and lets the peer close its side within
// CloseTimeout. An unterminated input longer than MaxMessageSize closes
// the transport with ErrMessageTooLarge.
//
// Deadlines bound writes and the clean close: on a connection that does
// not support them, writes are unbounded and Close closes c at once.
//
// The returned value also has a Break() method that severs the connection
// abruptly (a TCP reset where the connection allows it), as a network
// failure would; the Receiver is then told jstp.ErrTransportBroken.
func NewTransport(c net.Conn) jstp.Transport {
	return newTransport(c, nil)
}

// hooks let a Server account for its transports' goroutines.
type hooks struct {
	// started is called by Start just before the reader goroutine starts.
	started func(t *transport)
	// exited is called when the socket is closed for good: by the reader
	// goroutine as its last act (reader true), or by a close that comes
	// before Start (reader false, possibly more than once).
	exited func(t *transport, reader bool)
}

func newTransport(c net.Conn, h *hooks) *transport {
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	return &transport{conn: c, raw: raw, addr: peerAddr(c), hooks: h, writeTimeout: WriteTimeout}
}

// peerAddr is c's remote address, or, for an unnamed Unix socket peer, a
// *net.UnixAddr named after the socket path so it is never empty or nil.
func peerAddr(c net.Conn) net.Addr {
	a := c.RemoteAddr()
	if ua, ok := a.(*net.UnixAddr); ok && ua != nil && ua.Name != "" && ua.Name != "@" {
		return ua
	} else if !ok && a != nil && a.String() != "" {
		return a
	}
	name := ""
	if la, ok := c.LocalAddr().(*net.UnixAddr); ok && la != nil {
		name = la.Name
	}
	if name == "" {
		name = "unix-peer"
	}
	return &net.UnixAddr{Name: name, Net: "unix"}
}

// Start begins delivering inbound messages to r from a goroutine of its own.
func (t *transport) Start(r jstp.Receiver) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		panic("tcp: Transport.Start called twice")
	}
	t.started = true
	t.recv = r
	t.mu.Unlock()
	if t.hooks != nil {
		t.hooks.started(t)
	}
	go t.read()
}

// Send writes msg followed by a NUL byte.
func (t *transport) Send(msg []byte) error {
	if t.closing.Load() {
		return jstp.ErrTransportClosed
	}
	if bytes.IndexByte(msg, 0) >= 0 {
		return ErrNULInMessage
	}
	t.sending.Store(true)
	defer t.sending.Store(false)
	if err := t.armWrite(); err != nil {
		return err
	}
	var err error
	if len(msg) < maxRetainedWriteBuffer {
		t.wbuf = append(append(t.wbuf[:0], msg...), 0)
		_, err = t.conn.Write(t.wbuf)
	} else {
		bufs := net.Buffers{msg, nul}
		_, err = bufs.WriteTo(t.conn)
	}
	if err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// SendBatch writes msgs in order, each followed by a NUL byte, in as few
// writes as it can: messages shorter than maxRetainedWriteBuffer are copied
// together into the reused write buffer (with their NUL bytes), and a write
// goes out when that buffer is full or a long message comes, which is
// written from msgs itself, with writev where the connection has it. A
// batch of short messages up to 64 KiB in all is thus one system call.
//
// Every write is bounded by WriteTimeout, as one Send is. If any message
// contains a NUL byte, the whole batch is refused before anything is
// written: the error wraps ErrNULInMessage and the transport is left as it
// was, as Send leaves it. A failed write closes the connection, as in
// Send; how much of the batch reached the peer is then unknown. After
// Close, and when Close interrupts it, SendBatch returns
// jstp.ErrTransportClosed. msgs and the messages are neither modified nor
// retained.
func (t *transport) SendBatch(msgs [][]byte) error {
	if t.closing.Load() {
		return jstp.ErrTransportClosed
	}
	for i, msg := range msgs {
		if bytes.IndexByte(msg, 0) >= 0 {
			return fmt.Errorf("%w (message %d of a batch of %d; nothing sent)", ErrNULInMessage, i, len(msgs))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	t.sending.Store(true)
	defer t.sending.Store(false)
	b := t.wbuf[:0]
	defer func() { t.wbuf = b[:0] }()
	// write sends what is buffered, then long (when not nil) and its NUL;
	// the NUL goes at the start of the buffer for the next write.
	write := func(long []byte) error {
		if err := t.armWrite(); err != nil {
			return err
		}
		var err error
		if long == nil {
			_, err = t.conn.Write(b)
		} else {
			bufs := net.Buffers{b, long}
			if len(b) == 0 {
				bufs = bufs[1:]
			}
			_, err = bufs.WriteTo(t.conn)
		}
		if err != nil {
			return t.writeFailed(err)
		}
		b = b[:0]
		if long != nil {
			b = append(b, 0)
		}
		return nil
	}
	for _, msg := range msgs {
		if len(msg) >= maxRetainedWriteBuffer {
			if err := write(msg); err != nil {
				return err
			}
			continue
		}
		need := len(msg) + 1
		if len(b)+need > maxRetainedWriteBuffer {
			if err := write(nil); err != nil {
				return err
			}
		}
		if len(b)+need > cap(b) {
			b = growWriteBuffer(b, need)
		}
		b = append(append(b, msg...), 0)
	}
	if len(b) > 0 {
		return write(nil)
	}
	return nil
}

// SendParts writes one message, the concatenation of parts, followed by a
// NUL byte (jstp.PartsSender). Parts shorter than partCopyMax are copied
// together into the reused write buffer; longer ones are written from
// parts itself, all in one writev where the connection has it (over TLS,
// one write each). Parts are never written into: some are views of Go
// strings. A NUL byte in any part refuses the message before anything is
// written, as Send does; failures and deadlines are as in Send.
func (t *transport) SendParts(parts [][]byte) error {
	if t.closing.Load() {
		return jstp.ErrTransportClosed
	}
	for _, p := range parts {
		if bytes.IndexByte(p, 0) >= 0 {
			return ErrNULInMessage
		}
	}
	t.sending.Store(true)
	defer t.sending.Store(false)
	if err := t.armWrite(); err != nil {
		return err
	}
	b := t.wbuf[:0]
	bufs := t.vbuf[:0]
	from := 0 // the start of b's bytes not yet in bufs
	for _, p := range parts {
		if len(p) < partCopyMax {
			b = append(b, p...)
			continue
		}
		if len(b) > from {
			bufs = append(bufs, b[from:])
			from = len(b)
		}
		bufs = append(bufs, p)
	}
	b = append(b, 0)
	bufs = append(bufs, b[from:])
	// WriteTo consumes its slice header, not the array: vbuf keeps it.
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(t.conn)
	clear(bufs)
	t.vbuf = bufs[:0]
	if cap(b) <= maxRetainedWriteBuffer {
		t.wbuf = b[:0]
	}
	if err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// ReadsBatches implements jstp.ReadBatcher: the reader calls EndBatch
// after delivering what each read completed.
func (t *transport) ReadsBatches() bool { return true }

// TakeMessage lets the engine keep the message being delivered where the
// reader read it, when it is a large one in a pooled buffer
// (jstp.MessageTaker, mdsf.Splitter.Take): the reader goes on after it,
// and the buffer goes back to the pool once every message taken out of it
// is released. Messages shorter than 16 KiB are not given (the engine
// copies them). Only the engine calls it, from inside Receiver.Message.
func (t *transport) TakeMessage() (release func(), ok bool) {
	release = t.split.Take()
	return release, release != nil
}

// partCopyMax is the length from which SendParts writes a part from its
// own memory instead of copying it.
const partCopyMax = 4 << 10

// growWriteBuffer returns b with room for n more bytes, grown at least
// twofold but not past maxRetainedWriteBuffer (len(b)+n never exceeds it).
func growWriteBuffer(b []byte, n int) []byte {
	nb := make([]byte, len(b), min(max(2*cap(b), len(b)+n, 512), maxRetainedWriteBuffer))
	copy(nb, b)
	return nb
}

// armWrite sets the deadline of the next write, and reports
// jstp.ErrTransportClosed if the transport started closing.
//
// A deadline set less than a tenth of the write timeout ago is kept rather
// than set again (setting one resets a runtime timer, which cost more than
// a short write), so a write gets between nine tenths of the write timeout
// and all of it. Only the sending goroutine calls armWrite.
func (t *transport) armWrite() error {
	now := time.Now()
	if t.armedAt.IsZero() || now.Sub(t.armedAt) >= t.writeTimeout/10 {
		if err := t.conn.SetWriteDeadline(now.Add(t.writeTimeout)); err != nil {
			if t.closing.Load() || errors.Is(err, net.ErrClosed) {
				return jstp.ErrTransportClosed
			}
			// Otherwise c does not support deadlines: write without one.
		}
		t.armedAt = now
	}
	// Close stores closing before it expires the write deadline and looks
	// at sending, so either this load sees closing, or Close's deadline
	// overrides the one set above and Close knows a write may be under way.
	if t.closing.Load() {
		return jstp.ErrTransportClosed
	}
	return nil
}

// writeFailed handles a failed write and returns what Send reports.
func (t *transport) writeFailed(err error) error {
	if t.closing.Load() {
		return jstp.ErrTransportClosed
	}
	// A partial write leaves the stream unframed: the connection is done.
	t.fail(fmt.Errorf("tcp: write: %w", err))
	return err
}

// Close closes the transport cleanly: the end of the stream is sent after
// whatever was sent before, then the reader waits up to CloseTimeout for
// the peer to close its end. Close does not block. It is safe to call more
// than once and concurrently with Send.
func (t *transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.closing.Store(true)
	started := t.started
	t.mu.Unlock()

	t.conn.SetWriteDeadline(time.Now()) // abort a Send blocked on a stalled peer
	switch {
	case !started:
		t.raw.Close()
		t.exit(false)
	case t.sending.Load():
		// A message was being written: the stream may be cut inside it,
		// so there is no clean end to send.
		t.raw.Close()
	default:
		// Wake the reader, which sends the end of the stream and drains:
		// sending close_notify over TLS may block, so it is not done here.
		t.halfClose.Store(true)
		if t.conn.SetReadDeadline(time.Now()) != nil {
			t.raw.Close() // no deadlines: the reader cannot be woken otherwise
		}
	}
	return nil
}

// Break severs the connection abruptly, as a network failure would: a TCP
// connection is reset (SO_LINGER 0), unsent data is dropped, and the
// Receiver is told jstp.ErrTransportBroken.
func (t *transport) Break() {
	if tc, ok := t.raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	t.abort(jstp.ErrTransportBroken)
}

// RemoteAddr returns the peer's address; never nil.
func (t *transport) RemoteAddr() net.Addr { return t.addr }

// fail closes the transport because of err, unless it is already closing
// for another reason. A nil err means the peer closed cleanly, and the
// socket is closed cleanly; otherwise it is closed outright.
func (t *transport) fail(err error) {
	if err != nil {
		t.abort(err)
		return
	}
	if t.decide(nil) {
		t.conn.Close()
		t.exit(false)
	}
}

// abort records err as the close reason unless one is already set, and
// closes the socket outright (over TLS, without close_notify).
func (t *transport) abort(err error) {
	unstarted := t.decide(err)
	t.raw.Close()
	if unstarted {
		t.exit(false)
	}
}

// decide records err as the close reason unless one is already set, marks
// the transport closing, and reports whether Start has not been called
// (so no reader will clean up).
func (t *transport) decide(err error) (unstarted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		t.err = err
	}
	t.closing.Store(true)
	return !t.started
}

func (t *transport) read() {
	defer t.finish()
	ender, _ := t.recv.(jstp.BatchEnder)
	emit := func(msg []byte) error {
		if t.closing.Load() {
			return errStopDelivery
		}
		t.recv.Message(msg)
		return nil
	}
	draining := false
	var discard []byte
	for {
		var err error
		if t.closing.Load() {
			// Closing: what still comes is read and dropped.
			if discard == nil {
				discard = make([]byte, discardBufferSize)
			}
			_, err = t.conn.Read(discard)
		} else {
			// The Splitter reads into its own buffer, so a large
			// message is not copied once more before it is parsed.
			var ferr error
			_, err, ferr = t.split.FeedFrom(t.conn, emit)
			if ender != nil {
				// The messages of this read are delivered.
				ender.EndBatch()
			}
			if ferr != nil && ferr != errStopDelivery {
				t.fail(ferr)
				return
			}
		}
		if err == nil {
			continue
		}
		if !draining && t.halfClose.Load() && !errors.Is(err, io.EOF) {
			// Close woke us: send the end of the stream, then read what
			// the peer still sends until it closes its end.
			draining = true
			cw, ok := t.conn.(interface{ CloseWrite() error })
			if !ok || cw.CloseWrite() != nil {
				return
			}
			t.conn.SetReadDeadline(time.Now().Add(CloseTimeout))
			continue
		}
		switch {
		case t.closing.Load():
			// Closed locally; the reason is already decided.
		case !errors.Is(err, io.EOF):
			t.fail(fmt.Errorf("tcp: read: %w", err))
		case t.split.Buffered() > 0:
			t.fail(fmt.Errorf("tcp: connection closed inside a message: %w", io.ErrUnexpectedEOF))
		default:
			t.fail(nil)
		}
		return
	}
}

// finish closes the socket and reports the close; it runs last in the
// reader goroutine.
func (t *transport) finish() {
	t.mu.Lock()
	err := t.err
	t.mu.Unlock()
	if err == nil {
		t.conn.Close() // over TLS, sends close_notify unless already sent
	}
	t.raw.Close()
	t.recv.Closed(err)
	t.exit(true)
}

func (t *transport) exit(reader bool) {
	if t.hooks != nil {
		t.hooks.exited(t, reader)
	}
}
