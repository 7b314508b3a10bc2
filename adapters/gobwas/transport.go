package gobwas

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	jstp "github.com/jstp-go/jstp/core"
)

// Transport is one JSTP connection over a WebSocket connection made with
// github.com/gobwas/ws. It implements jstp.Transport.
//
// A server-side Transport over a plain TCP connection on Linux is driven by
// the server's epoll poller: while it is idle it parks no goroutine and owns
// no read buffer. Any other Transport (client side, wss, other systems)
// reads from a goroutine of its own.
//
// Send, SendBatch, Close, Break and RemoteAddr may be called from any
// goroutine; Send and SendBatch calls must not overlap (the engine
// serializes them), Close and Break may overlap anything.
type Transport struct {
	nc     net.Conn
	client bool // frames out are masked, frames in must not be

	wmu      sync.Mutex // serializes frame writes
	partsBuf [][]byte   // SendParts's copy of its parts, under wmu
	// armedAt is when armWrite last set the write deadline (under wmu).
	armedAt time.Time

	closed atomic.Bool // no more Send, no more Message: closing or closed

	mu       sync.Mutex
	recv     jstp.Receiver
	busy     bool  // a reader is decoding input (and may call Message)
	notified bool  // Receiver.Closed was called or is being called
	err      error // what Closed reports
	finished bool  // the socket is closed
	drainRaw bool  // input is garbage after a protocol error: discard unparsed
	linger   *time.Timer
	started  bool

	rd      frameReader
	pending []byte // bytes that arrived with the upgrade, before Start
	// ender is the receiver's EndBatch side (jstp.ReadBatcher), called by
	// whoever holds the reading turn after the messages of each read.
	ender jstp.BatchEnder

	// Poller-driven transports only.
	poll       *poller
	raw        syscall.RawConn
	id         uint64
	registered bool

	// srv is the server a server-side transport belongs to: it runs the
	// transport's goroutines under its wait group and forgets the
	// transport when the socket is closed. Nil on the client side.
	srv *Server
}

var (
	_ jstp.Transport   = (*Transport)(nil)
	_ jstp.BatchSender = (*Transport)(nil)
	_ jstp.ReadBatcher = (*Transport)(nil)
)

// ReadsBatches implements jstp.ReadBatcher: whoever reads the connection
// (a poller worker for its turn, or the connection's own goroutine) calls
// EndBatch after delivering the messages of each read, before it gives up
// the reading turn. A poller worker runs a NonBlocking method for the
// connection whose turn it holds only: when every worker is busy, the
// poller hands other connections' events to temporary goroutines, so a
// method on one connection never holds up the others.
func (t *Transport) ReadsBatches() bool { return true }

var errPollerStopped = errors.New("gobwas: server poller stopped")

func newTransport(nc net.Conn, client bool, pending []byte) *Transport {
	t := &Transport{nc: nc, client: client, pending: pending}
	t.rd.masked = !client
	return t
}

func (t *Transport) goSpawn(f func()) {
	if t.srv != nil {
		t.srv.spawn(f)
		return
	}
	go f()
}

// Start begins delivering inbound messages to r. It is called once.
func (t *Transport) Start(r jstp.Receiver) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		panic("gobwas: Transport.Start called twice")
	}
	t.started = true
	t.recv = r
	t.ender, _ = r.(jstp.BatchEnder)
	closed := t.closed.Load()
	notify := closed && !t.notified && !t.busy
	if notify {
		t.notified = true
	}
	err := t.err
	t.mu.Unlock()
	if closed {
		if notify {
			t.goSpawn(func() { r.Closed(err) })
		}
		return
	}
	if t.poll == nil {
		t.goSpawn(t.readLoop)
		return
	}
	if t.pending != nil {
		// Bytes came with the upgrade: a worker decodes them first, then
		// registers the socket.
		if !t.poll.dispatch(t) {
			t.lost(errPollerStopped)
		}
		return
	}
	t.mu.Lock()
	err = t.arm()
	t.mu.Unlock()
	if err != nil {
		t.lost(err)
	}
}

// arm registers the socket with the poller for one readiness event. It is
// called with t.mu held, by whoever owns the reading side.
func (t *Transport) arm() error {
	if t.finished {
		return nil
	}
	err := t.poll.arm(t, !t.registered)
	if err == nil {
		t.registered = true
	}
	return err
}

// onReadable is run by a poller worker when the socket is readable.
func (t *Transport) onReadable(buf []byte) {
	if !t.enter() {
		return
	}
	more := true
	if p := t.pending; p != nil {
		t.pending = nil
		more = t.consume(p)
	}
	for i := 0; more && i < maxReadsPerEvent; i++ {
		n, err := rawRead(t.raw, buf)
		if err == errWouldBlock {
			break
		}
		if err != nil || n == 0 {
			if err == nil {
				err = io.EOF
			}
			t.lost(err)
			more = false
			break
		}
		more = t.consume(buf[:n])
		if n < len(buf) {
			break
		}
	}
	// The reads of this turn are delivered: what their calls answered
	// goes out before the socket is rearmed, when another worker may
	// take the next turn.
	t.endBatch()
	t.leave(more)
}

// readLoop drives a transport that has a goroutine of its own.
func (t *Transport) readLoop() {
	buf := make([]byte, streamReadSize)
	if p := t.pending; p != nil {
		t.pending = nil
		if !t.enter() || !t.consumeAndLeave(p) {
			t.finishReader()
			return
		}
	}
	for {
		n, err := t.nc.Read(buf)
		if n > 0 {
			if !t.enter() || !t.consumeAndLeave(buf[:n]) {
				break
			}
		}
		if err != nil {
			t.lost(err)
			break
		}
	}
	t.finishReader()
}

func (t *Transport) consumeAndLeave(p []byte) bool {
	more := t.consume(p)
	t.endBatch()
	t.leave(false)
	return more && !t.isFinished()
}

// endBatch tells the receiver that the messages of a read are delivered.
// It is called by the holder of the reading turn, before leave. Once the
// transport is closing it calls nothing, as message does not: Closed may
// be under way on another goroutine (begin spawns it when no reader is
// busy, and a reader still drains the socket afterwards).
func (t *Transport) endBatch() {
	if t.ender != nil && !t.closed.Load() {
		t.ender.EndBatch()
	}
}

// finishReader makes sure the reading side ends with the socket closed and
// the receiver told.
func (t *Transport) finishReader() {
	t.finish()
	t.mu.Lock()
	notify := t.closed.Load() && !t.notified && !t.busy && t.recv != nil
	if notify {
		t.notified = true
	}
	r, err := t.recv, t.err
	t.mu.Unlock()
	if notify {
		r.Closed(err)
	}
}

func (t *Transport) isFinished() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finished
}

// enter marks the transport busy decoding; false when it must not be read.
func (t *Transport) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy || t.finished {
		return false
	}
	t.busy = true
	return true
}

// leave ends a decoding turn: it tells the receiver about a close that
// happened meanwhile and, for a poller-driven transport with more to read,
// rearms it.
func (t *Transport) leave(rearm bool) {
	t.mu.Lock()
	t.busy = false
	notify := t.closed.Load() && !t.notified && t.recv != nil
	if notify {
		t.notified = true
	}
	r, err := t.recv, t.err
	var armErr error
	if rearm && t.poll != nil {
		armErr = t.arm()
	}
	t.mu.Unlock()
	if notify {
		r.Closed(err)
	}
	if armErr != nil {
		t.lost(armErr)
	}
}

// consume decodes bytes read from the socket. It reports whether reading
// should go on.
func (t *Transport) consume(p []byte) bool {
	t.mu.Lock()
	raw := t.drainRaw
	t.mu.Unlock()
	if raw {
		return true
	}
	err := t.rd.feed(p, t)
	if err == nil {
		return true
	}
	var ce *CloseError
	if errors.As(err, &ce) && ce.Local {
		t.fail(ce)
		return true
	}
	return !t.isFinished()
}

// message implements frameHandler.
func (t *Transport) message(data []byte) error {
	if t.closed.Load() {
		return nil // closing: input is discarded
	}
	t.recv.Message(data)
	return nil
}

// control implements frameHandler.
func (t *Transport) control(op ws.OpCode, payload []byte) error {
	switch op {
	case ws.OpPing:
		if !t.closed.Load() {
			t.wmu.Lock()
			if !t.closed.Load() {
				t.armWrite()
				if err := writeFrame(t.nc, ws.OpPong, true, payload, t.client); err != nil {
					t.wmu.Unlock()
					t.lost(err)
					return errStop
				}
			}
			t.wmu.Unlock()
		}
		return nil
	case ws.OpPong:
		return nil
	}
	// Close.
	if t.closed.Load() {
		// The reply to our close frame: the closing handshake is complete.
		t.finish()
		return errStop
	}
	code, reason, err := parseClose(payload)
	if err != nil {
		return err
	}
	var cerr error
	if code != ws.StatusNormalClosure && code != ws.StatusGoingAway && code != ws.StatusNoStatusRcvd {
		cerr = &CloseError{Code: code, Reason: reason}
	}
	if t.begin(cerr) {
		echo := code
		if echo == ws.StatusNoStatusRcvd {
			echo = ws.StatusNormalClosure
		}
		t.sendClose(echo, "", true)
	}
	t.finish()
	return errStop
}

// begin moves the transport from open to closing, recording what the
// receiver will be told. It reports whether it did so (false: it was
// closing or closed already).
func (t *Transport) begin(err error) bool {
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		return false
	}
	t.closed.Store(true)
	t.err = err
	notify := !t.busy && !t.notified && t.recv != nil
	if notify {
		t.notified = true
	}
	r := t.recv
	t.mu.Unlock()
	if notify {
		// Never call the receiver from the goroutine that asked to close:
		// it may hold the engine's locks.
		t.goSpawn(func() { r.Closed(err) })
	}
	return true
}

// armWrite sets the write deadline for a write starting now. A deadline
// set less than a tenth of WriteTimeout ago is kept rather than set again
// (that resets a runtime timer, which cost more than a short write), so a
// write gets between nine tenths of WriteTimeout and all of it. It runs
// under wmu.
func (t *Transport) armWrite() {
	now := time.Now()
	if t.armedAt.IsZero() || now.Sub(t.armedAt) >= WriteTimeout/10 {
		_ = t.nc.SetWriteDeadline(now.Add(WriteTimeout))
		t.armedAt = now
	}
}

// sendClose writes a close frame. With wait false it gives up when a Send
// holds the writer, rather than waiting for it.
func (t *Transport) sendClose(code ws.StatusCode, reason string, wait bool) {
	if wait {
		t.wmu.Lock()
	} else if !t.wmu.TryLock() {
		return
	}
	defer t.wmu.Unlock()
	_ = t.nc.SetWriteDeadline(time.Now().Add(CloseTimeout))
	t.armedAt = time.Time{}
	_ = writeFrame(t.nc, ws.OpClose, true, closePayload(code, reason), t.client)
}

// lingerThenFinish keeps reading (and discarding) for the peer's reply to
// our close frame, closing the socket after CloseTimeout at the latest.
func (t *Transport) lingerThenFinish() {
	t.mu.Lock()
	if !t.finished && t.linger == nil {
		t.linger = time.AfterFunc(CloseTimeout, t.finish)
	}
	t.mu.Unlock()
}

// fail fails the connection after a protocol violation by the peer: a close
// frame with the code, then the rest of the input is discarded until the
// peer closes or CloseTimeout passes.
func (t *Transport) fail(ce *CloseError) {
	t.mu.Lock()
	t.drainRaw = true
	t.mu.Unlock()
	if t.begin(ce) {
		t.sendClose(ce.Code, ce.Reason, true)
		// Half-close: the peer sees the close frame and the end of the
		// stream at once, while what it still sends is read and dropped
		// (closing a socket with unread input would reset the connection
		// and could destroy the close frame in flight).
		if cw, ok := t.nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	t.lingerThenFinish()
}

// lost handles a read or write failure: the socket is closed at once.
func (t *Transport) lost(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	t.begin(fmt.Errorf("gobwas: connection lost: %w", err))
	t.finish()
}

// finish closes the socket, once.
func (t *Transport) finish() {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.finished = true
	if t.linger != nil {
		t.linger.Stop()
	}
	t.mu.Unlock()
	if t.poll != nil {
		t.poll.remove(t)
	}
	_ = t.nc.Close()
	if t.srv != nil {
		t.srv.forget(t)
	}
}

// Send writes msg as one text message, fragmented into frames of at most
// MaxFragmentSize. It returns jstp.ErrTransportClosed after Close. A write
// that does not complete within WriteTimeout fails and closes the
// connection.
func (t *Transport) Send(msg []byte) error {
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.armWrite()
	if err := writeMessage(t.nc, msg, t.client); err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// writeFailed handles a failed write, under wmu: after Close it reports
// jstp.ErrTransportClosed; otherwise the connection is done, and it
// returns err.
func (t *Transport) writeFailed(err error) error {
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.begin(fmt.Errorf("gobwas: write: %w", err))
	t.finish()
	return err
}

// SendParts writes one text message, the concatenation of parts
// (jstp.PartsSender), framed and bounded as Send frames and bounds it: each
// frame is built from the parts it spans in a pooled buffer (masked there,
// on the client side), so a long argument reaches the connection without
// being copied into a message first. The parts are never modified, and
// parts itself is not retained.
func (t *Transport) SendParts(parts [][]byte) error {
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.armWrite()
	// writeParts consumes the slice headers in parts; the engine's slice
	// is left as it was.
	own := append(t.partsBuf[:0], parts...)
	err := writeParts(t.nc, own, t.client)
	clear(own)
	t.partsBuf = own[:0]
	if err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// SendBatch writes msgs in order, each as one text message fragmented as
// Send does, with as few writes as it can: the frames are built together
// in one pooled buffer (masked, on the client side), and a write goes out
// when it holds about MaxFragmentSize, so a batch of short messages is one
// system call. Each write is bounded by WriteTimeout, as one Send is. It
// returns jstp.ErrTransportClosed after Close, and when a Close comes
// between two writes; a failed write closes the connection, as in Send,
// and how much of the batch reached the peer is then unknown. msgs and the
// messages are neither modified nor retained.
func (t *Transport) SendBatch(msgs [][]byte) error {
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closed.Load() {
		return jstp.ErrTransportClosed
	}
	err := writeMessages(t.nc, msgs, t.client, func() error {
		if t.closed.Load() {
			return jstp.ErrTransportClosed
		}
		t.armWrite()
		return nil
	})
	if err != nil {
		return t.writeFailed(err)
	}
	return nil
}

// Close closes the connection cleanly: it sends a close frame (code 1000)
// and waits, without blocking the caller, up to CloseTimeout for the
// peer's reply before closing the socket. The receiver's Closed is called
// with nil. Close is idempotent and safe concurrently with Send; when a
// Send is in progress the close frame is skipped.
func (t *Transport) Close() error {
	if t.begin(nil) {
		t.sendClose(ws.StatusNormalClosure, "", false)
		t.lingerThenFinish()
	}
	return nil
}

// Break severs the connection abruptly, as a network failure would: the
// socket is closed with no close frame, and the receiver's Closed gets
// jstp.ErrTransportBroken (unless it was closing already).
func (t *Transport) Break() {
	t.begin(jstp.ErrTransportBroken)
	t.finish()
}

// RemoteAddr returns the peer's network address.
func (t *Transport) RemoteAddr() net.Addr { return t.nc.RemoteAddr() }

// LocalAddr returns the local network address.
func (t *Transport) LocalAddr() net.Addr { return t.nc.LocalAddr() }
