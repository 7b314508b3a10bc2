// Package cork lets a WebSocket adapter send a batch of messages with one
// system call although its library writes each message with its own Write
// to the net.Conn it was given: the adapter gives the library a Conn
// instead of the connection itself; while the transport holds it corked,
// Write appends to a buffer, and Uncork writes the buffer out in one go.
// Framing, fragmentation and masking stay the library's; only the moment
// the bytes reach the network changes.
//
// HijackCorker puts a Conn under a library's server-side upgrade.
//
// The package is internal to the adapters and not a public API.
package cork

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Limit bounds a cork buffer: a write that would take it past Limit goes
// out at once, together with the buffer (one writev on TCP), without being
// copied. So a batch of large messages is neither held in memory whole
// nor copied into ever larger buffers.
const Limit = 64 << 10

// buffers holds cork buffers (of capacity Limit) between batches: an idle
// connection holds none.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, Limit); return &b }}

// Conn is a net.Conn whose writes can be held back and sent together.
//
// It is safe for concurrent use, as the libraries need it to be: a pong or
// close frame may be written from another goroutine at any time, and goes
// into the buffer, in order, if the connection is corked then.
//
// Write deadlines are applied lazily: SetWriteDeadline records the deadline
// and the next write to the network applies it, only if it differs from the
// one already set (setting one costs a runtime timer update). Unlike on a
// plain net.Conn, a deadline set while another goroutine's write is under
// way does not affect that write.
type Conn struct {
	net.Conn

	dmu  sync.Mutex
	want time.Time // the write deadline last asked for

	// sem is held by whoever changes the fields below or writes to Conn,
	// so that bytes reach the network in the order they were written.
	sem     chan struct{}
	corked  bool
	batchDL time.Time // while corked: the deadline for writing the buffer
	buf     []byte
	cur     time.Time // the write deadline set on Conn
	err     error     // a write to Conn failed: the stream is broken

	onRead atomic.Pointer[func()] // see OnRead
}

// OnRead makes f run before every Read from the connection, on the
// goroutine that reads (nil: nothing). A transport whose library reads
// through a buffer of its own uses it to learn that the library has
// delivered everything it had read and needs more input.
func (c *Conn) OnRead(f func()) {
	if f == nil {
		c.onRead.Store(nil)
		return
	}
	c.onRead.Store(&f)
}

// Read runs the OnRead function, if any, then reads from the connection.
func (c *Conn) Read(p []byte) (int, error) {
	if f := c.onRead.Load(); f != nil {
		(*f)()
	}
	return c.Conn.Read(p)
}

// New returns c wrapped in an uncorked Conn.
func New(c net.Conn) *Conn {
	return &Conn{Conn: c, sem: make(chan struct{}, 1)}
}

// lock takes sem, waiting no later than deadline (zero: no limit), as a
// write on a plain connection would not wait past its deadline.
func (c *Conn) lock(deadline time.Time) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	default:
	}
	if deadline.IsZero() {
		c.sem <- struct{}{}
		return nil
	}
	d := time.Until(deadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-tm.C:
		return os.ErrDeadlineExceeded
	}
}

func (c *Conn) unlock() { <-c.sem }

func (c *Conn) wanted() time.Time {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return c.want
}

// SetWriteDeadline records t for the writes that follow.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.want = t
	c.dmu.Unlock()
	return nil
}

// SetDeadline sets the read deadline and records the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// Write writes p, or appends it to the buffer while corked. It never
// retains p.
func (c *Conn) Write(p []byte) (int, error) {
	want := c.wanted()
	if err := c.lock(want); err != nil {
		return 0, err
	}
	defer c.unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked {
		return c.out(want, nil, p)
	}
	if len(c.buf)+len(p) <= Limit {
		if c.buf == nil {
			c.buf = (*buffers.Get().(*[]byte))[:0]
		}
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	// Full: out with the buffer and p together (one writev on TCP).
	buf := c.buf
	c.buf = c.buf[:0]
	return c.out(c.batchDL, buf, p)
}

// out writes buf and then p to Conn under deadline. It holds sem.
func (c *Conn) out(deadline time.Time, buf, p []byte) (int, error) {
	if !c.cur.Equal(deadline) {
		if err := c.Conn.SetWriteDeadline(deadline); err != nil {
			c.err = err
			return 0, err
		}
		c.cur = deadline
	}
	var err error
	switch {
	case len(buf) == 0:
		_, err = c.Conn.Write(p)
	case len(p) == 0:
		_, err = c.Conn.Write(buf)
	default:
		bufs := net.Buffers{buf, p}
		_, err = bufs.WriteTo(c.Conn)
	}
	if err != nil {
		c.err = err
		return 0, err
	}
	return len(p), nil
}

// Cork starts holding writes back; Uncork, which must follow, writes them
// out under deadline. The transport's send lock keeps Cork and Uncork
// calls from overlapping.
func (c *Conn) Cork(deadline time.Time) error {
	if err := c.lock(deadline); err != nil {
		return err
	}
	defer c.unlock()
	if c.err != nil {
		return c.err
	}
	c.corked = true
	c.batchDL = deadline
	return nil
}

// Uncork stops holding writes back and writes out what was held, under
// deadline. It always uncorks, so that nothing (a close frame, say) stays
// in the buffer; if the stream is already broken the buffer is dropped.
func (c *Conn) Uncork(deadline time.Time) error {
	// Whoever holds sem is writing to the network under a deadline of its
	// own, or is about to fail against a closed connection: wait.
	c.sem <- struct{}{}
	defer c.unlock()
	c.corked = false
	buf := c.buf
	if buf == nil {
		return c.err
	}
	c.buf = nil
	defer func() {
		buf = buf[:0]
		buffers.Put(&buf)
	}()
	if c.err != nil {
		return c.err
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := c.out(deadline, buf, nil)
	return err
}

// HijackCorker is the http.ResponseWriter handed to the library's upgrade:
// its Hijack returns the hijacked connection wrapped in a Conn, and
// remembers it in Conn for the transport.
type HijackCorker struct {
	http.ResponseWriter

	// WriteHeaderNow makes Hijack first send the response header through a
	// writer that has a WriteHeaderNow method (gin's), as a library that
	// looks for that method (github.com/coder/websocket) would have done
	// had it seen the writer directly. Leave it false for a library that
	// writes its own 101 response to the hijacked connection (gorilla).
	WriteHeaderNow bool

	// WriteBufferSize, when positive, makes Hijack hand the library a new
	// bufio.Writer of this size instead of the server's own (4 KiB), for a
	// library that keeps the hijacked writer for the life of the
	// connection: a smaller one costs each idle connection less memory.
	WriteBufferSize int

	// Conn is the connection Hijack returned; nil before a successful
	// Hijack.
	Conn *Conn
}

// Unwrap lets http.ResponseController reach the original writer.
func (h *HijackCorker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Hijack hijacks the underlying connection (through any middleware that
// supports http.ResponseController) and wraps it. The returned
// bufio.ReadWriter is the server's own: its Reader still holds any bytes
// read ahead (they precede everything read from the connection), and its
// Writer, empty or flushed first (or a new one, see WriteBufferSize), now
// writes through the Conn, so
// whatever the library writes to either reaches the network in order.
func (h *HijackCorker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// Some libraries ask a writer with WriteHeaderNow (gin's) to send the
	// 101 response before hijacking; they cannot see that method through
	// this wrapper, so do it here for them.
	if h.WriteHeaderNow {
		if g, ok := h.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
			g.WriteHeaderNow()
		}
	}
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	cc := New(conn)
	if brw != nil && brw.Writer != nil {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, err
		}
		if h.WriteBufferSize > 0 {
			brw.Writer = bufio.NewWriterSize(cc, h.WriteBufferSize)
		} else {
			brw.Writer.Reset(cc)
		}
	}
	h.Conn = cc
	return cc, brw, nil
}
