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
)

// WriteTimeout bounds one Send: a peer that does not read for this long
// has stalled, and the connection is closed with the write error.
const WriteTimeout = 10 * time.Second

// CloseTimeout is how long a clean Close waits, after sending its end of
// the stream (FIN, or close_notify then FIN over TLS), for the peer to
// close its own end before the socket is closed outright. Waiting lets
// the peer read everything sent before the close, where closing a socket
// with unread input would reset it.
const CloseTimeout = 2 * time.Second

// readBufferSize is the size of the per-connection read buffer.
const readBufferSize = 16 << 10

// maxRetainedWriteBuffer is the largest write buffer a transport keeps
// between Sends; larger messages are written with writev instead of a copy.
const maxRetainedWriteBuffer = 64 << 10

// ErrNULInMessage is returned by Send for a message containing a NUL byte,
// which would break the framing. Serialized JSTP messages never do.
var ErrNULInMessage = errors.New("tcp: message contains a NUL byte")

var errStopDelivery = errors.New("tcp: transport closing")

var nul = []byte{0}

// transport frames JSTP messages over a stream connection.
type transport struct {
	conn   net.Conn
	addr   net.Addr
	onExit func() // called once the reader has finished, if non-nil

	writeTimeout time.Duration // WriteTimeout; shorter in tests

	closing atomic.Bool // set once the transport starts closing, for any reason

	mu      sync.Mutex
	started bool
	closed  bool  // the close reason below is decided
	err     error // what Receiver.Closed reports
	recv    jstp.Receiver

	wbuf []byte // reused by Send (which the engine never runs concurrently)
}

// NewTransport returns a jstp.Transport that frames JSTP messages over c,
// each followed by one NUL byte, as the reference's net and tls transports
// do. c may be any stream connection (TCP, TLS, Unix, or a net.Pipe end);
// the transport owns it from now on.
//
// One goroutine per transport reads from c once Start is called. Send
// writes each message in one write, bounded by WriteTimeout. Close sends
// the end of the stream and lets the peer close its side within
// CloseTimeout. An unterminated input longer than MaxMessageSize closes
// the transport with ErrMessageTooLarge.
//
// The returned value also has a Break() method that severs the connection
// abruptly (a TCP reset where the connection allows it), as a network
// failure would; the Receiver is then told jstp.ErrTransportBroken.
func NewTransport(c net.Conn) jstp.Transport {
	return newTransport(c, nil)
}

func newTransport(c net.Conn, onExit func()) *transport {
	return &transport{conn: c, addr: peerAddr(c), onExit: onExit, writeTimeout: WriteTimeout}
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
	if err := t.conn.SetWriteDeadline(time.Now().Add(t.writeTimeout)); err != nil {
		t.fail(err)
		return err
	}
	// Close stores closing before it expires the write deadline, so either
	// this load sees it or Close's deadline overrides the one set above.
	if t.closing.Load() {
		return jstp.ErrTransportClosed
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
		if t.closing.Load() {
			return jstp.ErrTransportClosed
		}
		// A partial write leaves the stream unframed: the connection is done.
		t.fail(fmt.Errorf("tcp: write: %w", err))
		return err
	}
	return nil
}

// Close closes the transport cleanly. It is safe to call more than once
// and concurrently with Send.
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

	// Abort a Send blocked on a stalled peer.
	t.conn.SetWriteDeadline(time.Now())
	if started {
		if cw, ok := t.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			// The reader drains until the peer closes its end or the
			// deadline passes, then closes the socket.
			t.conn.SetReadDeadline(time.Now().Add(CloseTimeout))
			return nil
		}
	}
	t.conn.Close()
	return nil
}

// Break severs the connection abruptly, as a network failure would: a TCP
// connection is reset (SO_LINGER 0), unsent data is dropped, and the
// Receiver is told jstp.ErrTransportBroken.
func (t *transport) Break() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.err = jstp.ErrTransportBroken
	}
	t.closing.Store(true)
	t.mu.Unlock()
	c := t.conn
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn() // closing the tls.Conn would send close_notify
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// RemoteAddr returns the peer's address; never nil.
func (t *transport) RemoteAddr() net.Addr { return t.addr }

// fail closes the transport because of err (nil: the peer closed cleanly),
// unless it is already closing for another reason.
func (t *transport) fail(err error) {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		t.err = err
	}
	t.closing.Store(true)
	t.mu.Unlock()
	t.conn.Close()
}

func (t *transport) read() {
	defer t.finish()
	buf := make([]byte, readBufferSize)
	var split splitter
	tail := 0 // bytes of an unterminated message buffered by split
	emit := func(msg []byte) error {
		if t.closing.Load() {
			return errStopDelivery
		}
		t.recv.Message(msg)
		return nil
	}
	for {
		n, err := t.conn.Read(buf)
		if n > 0 && !t.closing.Load() {
			chunk := buf[:n]
			if ferr := split.Feed(chunk, emit); ferr != nil && ferr != errStopDelivery {
				t.fail(ferr)
				return
			}
			if i := bytes.LastIndexByte(chunk, 0); i >= 0 {
				tail = len(chunk) - i - 1
			} else {
				tail += len(chunk)
			}
		}
		if err != nil {
			switch {
			case !errors.Is(err, io.EOF):
				t.fail(fmt.Errorf("tcp: read: %w", err))
			case tail > 0:
				t.fail(fmt.Errorf("tcp: connection closed inside a message: %w", io.ErrUnexpectedEOF))
			default:
				t.fail(nil)
			}
			return
		}
	}
}

func (t *transport) finish() {
	t.conn.Close()
	t.mu.Lock()
	err := t.err
	t.mu.Unlock()
	t.recv.Closed(err)
	if t.onExit != nil {
		t.onExit()
	}
}
