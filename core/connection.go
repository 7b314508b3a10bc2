package jstp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jstp-go/jstp/core/mdsf"
)

var nextConnID atomic.Uint64

// Connection is one side of a JSTP conversation, on a server or a client.
// Its methods are safe for concurrent use.
//
// A client's Connection outlives its transports: when a transport is lost
// unintentionally, the reconnector attaches a new one and resumes the
// session, and calls in flight complete after the resumption. A server's
// Connection ends with its transport; a client resuming its session gets a
// new server-side Connection bound to the same Session.
type Connection struct {
	id     uint64
	server *Server
	client *Client // client-side settings; nil on a server
	log    *logger

	// partsOK is set while the transport is a PartsSender: calls with
	// large plain strings are then encoded in parts (see encodeParts).
	partsOK atomic.Bool

	ctx    context.Context // cancelled when the connection ends for good
	cancel context.CancelFunc
	done   chan struct{}

	// client side
	target   appTarget
	dial     Dialer
	reconnMu sync.Mutex // serializes reconnections
	reconnWG sync.WaitGroup
	// closeCtx is cancelled as soon as Close is called; reconnection
	// attempts run under it.
	closeCtx    context.Context
	closeCancel context.CancelFunc

	mu               sync.Mutex
	tr               *transportState
	remote           net.Addr
	app              *Application
	requestedVersion string // what the client asked for ("" for none)
	hsState          handshakeState
	session          *Session
	pending          map[int64]*pendingCall // by signed message id
	proxies          map[string]*RemoteProxy
	heartbeat        *time.Timer
	heartbeatEvery   time.Duration
	closing          bool // Close was called
	finished         bool // done is closed
	hasConnected     bool // a handshake succeeded at least once (client)
	reconnecting     bool // the reconnection loop runs
	hsTimer          *time.Timer
	finalErr         error
	watch            ctxWatch

	events serialQueue // event handlers before a session exists
}

type handshakeState uint8

const (
	hsNone handshakeState = iota
	hsPending
	hsDone
)

type pendingKind uint8

const (
	pendCall pendingKind = iota
	pendInspect
	pendPing
	pendHandshake
)

type pendingCall struct {
	kind pendingKind
	ch   chan callResult
	// watched: the connection's ctxWatch fails the call when its context
	// ends, so the waiter waits on ch alone.
	watched bool
	// complete, for a handshake, applies a successful answer before any
	// further message is read from the transport.
	complete func(ts *transportState, val any) error
}

type callResult struct {
	value any // the ok payload
	err   error
}

// pendingPool recycles pending calls (and their channels): a call costs no
// allocation for its bookkeeping.
var pendingPool = sync.Pool{New: func() any { return &pendingCall{ch: make(chan callResult, 1)} }}

func newPending(kind pendingKind) *pendingCall {
	p := pendingPool.Get().(*pendingCall)
	p.kind = kind
	return p
}

// release recycles p. Only its waiter calls it, once p's single answer has
// been received or p was taken out of the pending map by the waiter itself
// (so no answer can come).
func (p *pendingCall) release() {
	p.complete = nil
	p.watched = false
	pendingPool.Put(p)
}

func (p *pendingCall) resolve(r callResult) {
	select {
	case p.ch <- r:
	default:
	}
}

func newConnection(srv *Server, client *Client, lg *logger) *Connection {
	ctx, cancel := context.WithCancel(context.Background())
	closeCtx, closeCancel := context.WithCancel(context.Background())
	return &Connection{
		closeCtx:    closeCtx,
		closeCancel: closeCancel,
		id:          nextConnID.Add(1),
		server:      srv,
		client:      client,
		log:         lg,
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		pending:     make(map[int64]*pendingCall),
		proxies:     make(map[string]*RemoteProxy),
	}
}

// ID returns a number identifying the connection within this process.
func (c *Connection) ID() uint64 { return c.id }

// RemoteAddr returns the address of the peer on the current (or last)
// transport.
func (c *Connection) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// Session returns the connection's session, or nil before the handshake.
func (c *Connection) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Username returns the name the peer authenticated with, or "".
func (c *Connection) Username() string {
	if s := c.Session(); s != nil {
		return s.username
	}
	return ""
}

// Application returns the application the connection serves: on a server
// the one the client's handshake selected, on a client the client's own.
func (c *Connection) Application() *Application {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.app
}

// Server returns the server of a server-side connection, or nil.
func (c *Connection) Server() *Server { return c.server }

// Context returns a context that is cancelled when the connection ends for
// good. Methods run for the peer receive a context derived from it.
func (c *Connection) Context() context.Context { return c.ctx }

// Done returns a channel closed when the connection has ended for good: on
// a server when its transport closed, on a client after Close or when the
// reconnector gave up.
func (c *Connection) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, once Done is closed: ErrClosed after
// Close, or the last error otherwise.
func (c *Connection) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finalErr
}

// Connected reports whether the connection currently has a transport with a
// completed handshake.
func (c *Connection) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr != nil && c.hsState == hsDone
}

// ---- transports ----

// transportState is one Transport attached to the connection, and the
// Receiver the transport reports to.
type transportState struct {
	c      *Connection
	t      Transport
	closed chan struct{} // closed by Receiver.Closed

	mu      sync.Mutex
	queue   []queued
	spare   []queued
	bufs    [][]byte // the batch being written, for SendBatch; writer only
	writing bool
	// batching: the reader has run a call to a NonBlocking method since
	// the last EndBatch, so what is queued waits for the next one, which
	// writes it; flushPending: something was queued meanwhile.
	batching, flushPending bool
	dead                   bool // stop writing: closed or failed
	ending                 bool // a fatal error or final message: ignore what arrives
	// closeWhenFlushed asks the active writer to close the transport once
	// the queue is empty.
	closeWhenFlushed bool

	// Hints for flush that more messages are about to be queued: the
	// messages that arrived since the last write began, the peer's calls
	// running, and (as of the last call sent) our calls awaiting answers.
	received atomic.Int32
	calls    atomic.Int32
	awaiting atomic.Int32

	names names // used by the goroutine that delivers messages only

	// readsBatches: the transport calls EndBatch (ReadBatcher), so calls
	// to NonBlocking methods run on the reader. batchOpen: the reader has
	// set batching (reader only, so that it takes mu once per read).
	readsBatches, batchOpen bool

	over atomic.Bool // ending || dead, for isEnding

	// inCall and closedCalled guard the engine against a Transport that
	// breaks the Receiver contract (see misuse).
	inCall       atomic.Bool
	closedCalled atomic.Bool
}

// Message implements Receiver.
func (ts *transportState) Message(data []byte) {
	if !ts.inCall.CompareAndSwap(false, true) {
		ts.misuse("Message while another Receiver call was under way", true)
		return
	}
	if ts.closedCalled.Load() {
		ts.inCall.Store(false)
		ts.misuse("Message after Closed", false)
		return
	}
	ts.received.Add(1)
	ts.c.receive(ts, data)
	ts.inCall.Store(false)
}

// Closed implements Receiver.
func (ts *transportState) Closed(err error) {
	if ts.closedCalled.Swap(true) {
		ts.misuse("a second Closed", false)
		return
	}
	if !ts.inCall.CompareAndSwap(false, true) {
		// Closed while a Message is being handled: the transport's fault,
		// but it is closed now, so that is handled below, after the
		// report. The engine's own locks keep its state consistent.
		ts.misuse("Closed while another Receiver call was under way", false)
	} else {
		defer ts.inCall.Store(false)
	}
	ts.mu.Lock()
	ts.dead = true
	ts.over.Store(true)
	ts.dropQueueLocked()
	ts.mu.Unlock()
	close(ts.closed)
	ts.c.transportClosed(ts, err)
}

// misuse reports a breach of the Receiver contract by the transport (the
// call is dropped), and closes the transport when closeIt is set.
func (ts *transportState) misuse(what string, closeIt bool) {
	ts.c.log.emit(LogEvent{Kind: LogError, Conn: ts.c, Err: fmt.Errorf("%w: %s", ErrTransportMisuse, what)})
	if closeIt {
		ts.t.Close()
	}
}

// queued is a message in a send queue, and the pooled buffer it lies in,
// if any, which the queue holds until the message is written. A message
// in parts (see encodeParts) is msg followed by the parts in rest.
type queued struct {
	msg  []byte
	sb   *sendBuf
	rest [][]byte
}

// joinParts returns the message msg followed by rest as one slice: msg
// itself when rest is empty, a copy otherwise.
func joinParts(msg []byte, rest [][]byte) []byte {
	if len(rest) == 0 {
		return msg
	}
	n := len(msg)
	for _, p := range rest {
		n += len(p)
	}
	b := append(make([]byte, 0, n), msg...)
	for _, p := range rest {
		b = append(b, p...)
	}
	return b
}

// enqueue adds q to the send queue; it reports whether the caller must
// call flush (it became the writer). It takes over a hold of q.sb that the
// caller made for the queue (and lets go of it when the transport is
// dead).
func (ts *transportState) enqueue(q queued) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.dead {
		q.sb.unhold()
		return false
	}
	ts.queue = append(ts.queue, q)
	if ts.writing {
		return false
	}
	if ts.batching {
		ts.flushPending = true // written at EndBatch
		return false
	}
	ts.writing = true
	return true
}

// EndBatch implements BatchEnder: the calls to NonBlocking methods that
// the read delivered have run and queued their answers, which go out now,
// in one write where the transport allows, with whatever else was queued
// meanwhile.
func (ts *transportState) EndBatch() {
	if !ts.inCall.CompareAndSwap(false, true) {
		ts.misuse("EndBatch while another Receiver call was under way", true)
		return
	}
	defer ts.inCall.Store(false)
	if !ts.batchOpen {
		return
	}
	ts.batchOpen = false
	ts.mu.Lock()
	ts.batching = false
	write := ts.flushPending && !ts.writing && !ts.dead
	ts.flushPending = false
	if write {
		ts.writing = true
	}
	ts.mu.Unlock()
	if write {
		// Everything the read brought has been answered or handed to a
		// worker: no reason to wait for more before writing.
		ts.received.Store(0)
		ts.flushQueue()
	}
}

// flush writes queued messages until the queue is empty. Only one goroutine
// flushes at a time, so the transport never sees concurrent Sends.
func (ts *transportState) flush() {
	if _, ok := ts.t.(BatchSender); ok && (ts.received.Swap(0) > 1 || ts.calls.Load() > 1 || ts.awaiting.Load() > 1) {
		// Several messages arrived since the last write, or several
		// calls are under way: the answers to other calls, or the next
		// calls of other callers, are likely about to be queued. Let
		// those goroutines run first, so that one write carries them
		// all. With one call at a time this does not happen, and costs
		// no latency.
		runtime.Gosched()
	}
	ts.flushQueue()
}

// flushQueue is flush without its wait: it writes until the queue is
// empty. The caller is the writer (enqueue said so, or it set writing).
func (ts *transportState) flushQueue() {
	for {
		ts.mu.Lock()
		if ts.dead || len(ts.queue) == 0 {
			ts.writing = false
			closeNow := ts.closeWhenFlushed
			ts.mu.Unlock()
			if closeNow {
				ts.t.Close()
			}
			return
		}
		batch := ts.queue
		ts.queue = ts.spare[:0]
		ts.mu.Unlock()
		err := ts.write(batch)
		// The transport is done with the batch, written or not.
		for _, q := range batch {
			q.sb.unhold()
		}
		clear(batch)
		ts.mu.Lock()
		ts.spare = batch[:0]
		if err != nil {
			ts.dead = true
			ts.over.Store(true)
			ts.dropQueueLocked()
			ts.writing = false
			ts.mu.Unlock()
			ts.c.log.emit(LogEvent{Kind: LogError, Conn: ts.c, Err: fmt.Errorf("jstp: send: %w", err)})
			ts.t.Close()
			return
		}
		ts.mu.Unlock()
	}
}

// write hands batch to the transport: runs of whole messages to SendBatch
// (or Send), and each message in parts to SendParts (or, when the
// transport has no SendParts, to Send as one copy).
func (ts *transportState) write(batch []queued) error {
	for len(batch) > 0 {
		n := 0
		for n < len(batch) && batch[n].rest == nil {
			n++
		}
		if n > 0 {
			if err := ts.writeWhole(batch[:n]); err != nil {
				return err
			}
			batch = batch[n:]
			continue
		}
		q := batch[0]
		batch = batch[1:]
		var err error
		if ps, ok := ts.t.(PartsSender); ok {
			parts := append(ts.bufs[:0], q.msg)
			parts = append(parts, q.rest...)
			err = ps.SendParts(parts)
			clear(parts)
			ts.bufs = parts[:0]
		} else {
			err = ts.t.Send(joinParts(q.msg, q.rest))
		}
		if err != nil {
			return err
		}
		if ts.c.log.enabled() {
			ts.c.log.emit(LogEvent{Kind: LogOutgoing, Conn: ts.c, Message: joinParts(q.msg, q.rest)})
		}
	}
	return nil
}

// writeWhole writes messages none of which is in parts.
func (ts *transportState) writeWhole(batch []queued) error {
	var err error
	if bs, ok := ts.t.(BatchSender); ok && len(batch) > 1 {
		bufs := ts.bufs[:0]
		for _, q := range batch {
			bufs = append(bufs, q.msg)
		}
		err = bs.SendBatch(bufs)
		clear(bufs)
		ts.bufs = bufs[:0]
		if err == nil && ts.c.log.enabled() {
			for _, q := range batch {
				ts.c.log.emit(LogEvent{Kind: LogOutgoing, Conn: ts.c, Message: q.msg})
			}
		}
		return err
	}
	for _, q := range batch {
		if err = ts.t.Send(q.msg); err != nil {
			return err
		}
		if ts.c.log.enabled() {
			ts.c.log.emit(LogEvent{Kind: LogOutgoing, Conn: ts.c, Message: q.msg})
		}
	}
	return nil
}

// dropQueueLocked throws away what is queued, which will never be
// written. Caller holds ts.mu.
func (ts *transportState) dropQueueLocked() {
	for _, q := range ts.queue {
		q.sb.unhold()
	}
	ts.queue = nil
}

// send queues msg and writes it if nobody else is writing.
func (ts *transportState) send(msg []byte) { ts.enqueueAndFlush(queued{msg: msg}) }

// enqueueAndFlush queues q (taking over a hold of q.sb, as enqueue does)
// and writes it if nobody else is writing.
func (ts *transportState) enqueueAndFlush(q queued) {
	if ts.enqueue(q) {
		ts.flush()
	}
}

// end stops accepting messages from the transport, sends a final message
// (if any) and closes it.
//
// What is queued, and the final message, are written before the transport
// is closed: if another goroutine is writing, it closes the transport when
// it has emptied the queue.
func (ts *transportState) end(final []byte) {
	ts.mu.Lock()
	ts.ending = true
	ts.over.Store(true)
	if ts.dead {
		ts.mu.Unlock()
		ts.t.Close()
		return
	}
	if final != nil {
		ts.queue = append(ts.queue, queued{msg: final})
	}
	if ts.writing {
		ts.closeWhenFlushed = true
		ts.mu.Unlock()
		return
	}
	ts.writing = true
	ts.mu.Unlock()
	ts.flush()
	ts.t.Close()
}

// isEnding reports whether the transport is ending or dead. It reads a
// flag kept beside the two fields, so that the reader does not take mu
// (which the writers hold) for every message.
func (ts *transportState) isEnding() bool { return ts.over.Load() }

// attach makes t the connection's transport and starts it.
func (c *Connection) attach(t Transport) *transportState {
	ts := &transportState{c: c, t: t, closed: make(chan struct{})}
	if rb, ok := t.(ReadBatcher); ok && rb.ReadsBatches() {
		ts.readsBatches = true
	}
	_, parts := t.(PartsSender)
	c.partsOK.Store(parts)
	c.mu.Lock()
	c.tr = ts
	c.remote = t.RemoteAddr()
	c.hsState = hsNone
	c.mu.Unlock()
	t.Start(ts)
	return ts
}

// currentLocked returns the live, handshaken transport (nil when none).
// Caller holds c.mu.
func (c *Connection) currentLocked() *transportState {
	if c.tr == nil || c.hsState != hsDone {
		return nil
	}
	return c.tr
}

// ---- outgoing messages ----

func appendID(b []byte, id int64) []byte { return strconv.AppendInt(b, id, 10) }

// signed turns an absolute message id into this side's signed id: clients
// count up, servers count down.
func (c *Connection) signed(abs int64) int64 {
	if c.server != nil {
		return -abs
	}
	return abs
}

func absID(id int64) int64 {
	if id < 0 {
		return -id
	}
	return id
}

// outgoing is a call, event, inspect or ping to be numbered and written:
// {kind:[id,'iface'],verb:payload}, the payload already encoded; or, when
// framed is set, a message encoded by encodeFramed but for its start (and
// for the parts in rest, when it is in parts).
type outgoing struct {
	kind    string
	iface   string // none for a ping
	verb    string // none for an inspect or a ping
	payload []byte
	framed  []byte
	rest    [][]byte
	sb      *sendBuf // the pooled buffer framed lies in, if any
	// ctx bounds the wait for the answer of a call, inspect or ping.
	ctx context.Context
}

// frameRoom is the room encodeFramed leaves for "{kind:[id" (a kind of
// up to 8 bytes and an id of up to 20).
const frameRoom = 32

// encodeFramed encodes the message {kind:[id,'iface'],verb:[args...]}
// after frameRoom bytes left for its start, so that numbering it needs no
// copy of the arguments (a large argument is then copied once, into the
// buffer that is sent and kept in the session).
//
// With pool set, a call with large string arguments is encoded into a
// pooled buffer, returned with no holders (see sendBuf); nil when the
// buffer is a fresh one. With parts set too, large strings that need no
// escaping are not copied at all: the message is returned in parts (see
// encodeParts), framed being its first.
func encodeFramed(iface, verb string, args []any, pool, parts bool) ([]byte, [][]byte, *sendBuf, error) {
	if pool && parts {
		if framed, rest, err := encodeParts(iface, verb, args); err != nil || rest != nil {
			return framed, rest, nil, err
		}
	}
	b, sb, err := encodeWhole(iface, verb, args, pool)
	return b, nil, sb, err
}

// encodeParts encodes the message as encodeFramed does, except that the
// string arguments of sendPoolMin bytes or more that need no escaping
// (mdsf.Verbatim) are left out of it: rest holds, for each, a view of the
// string's own bytes and then the piece of the message that follows it.
// The message is framed followed by rest; a transport writes it with
// SendParts (vectored I/O), so a large argument is never copied on its way
// to the kernel, and the session keeps the string itself (which is
// immutable) until the peer has it. rest is nil when no argument
// qualifies.
func encodeParts(iface, verb string, args []any) (framed []byte, rest [][]byte, err error) {
	var omitBuf [4]int
	omit := omitBuf[:0]
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) >= sendPoolMin && mdsf.Verbatim(s) {
			omit = append(omit, i)
		}
	}
	if len(omit) == 0 {
		return nil, nil, nil
	}
	b := make([]byte, frameRoom, frameRoom+len(iface)+len(verb)+64+16*len(args))
	b = append(b, ',')
	b = mdsf.AppendString(b, iface)
	b = append(b, "],"...)
	b = mdsf.AppendKey(b, verb)
	b = append(b, ':')
	var atBuf [4]int
	b, at, err := mdsf.AppendArrayOmit(b, args, omit, atBuf[:0])
	if err != nil {
		return b, nil, err
	}
	b = append(b, '}')
	rest = make([][]byte, 0, 2*len(at))
	for k, off := range at {
		s := args[omit[k]].(string)
		end := len(b)
		if k+1 < len(at) {
			end = at[k+1]
		}
		// A view, never written: PartsSender forbids writing into parts.
		rest = append(rest, unsafe.Slice(unsafe.StringData(s), len(s)), b[off:end:end])
	}
	return b[:at[0]:at[0]], rest, nil
}

// encodeWhole is encodeFramed for a message in one piece.
func encodeWhole(iface, verb string, args []any, pool bool) ([]byte, *sendBuf, error) {
	var b []byte
	var sb *sendBuf
	if n := argsSize(args); pool && n >= sendPoolMin {
		// Room for some escapes; a message that outgrows it moves to a
		// fresh buffer, and this one goes back.
		sb = getSendBuf(frameRoom + len(iface) + len(verb) + 64 + n + n/16)
	}
	if sb != nil {
		b = sb.buf[:frameRoom]
	} else {
		b = make([]byte, frameRoom, frameRoom+len(iface)+len(verb)+64)
	}
	b = append(b, ',')
	b = mdsf.AppendString(b, iface)
	b = append(b, "],"...)
	b = mdsf.AppendKey(b, verb)
	b = append(b, ':')
	b, err := encodeArgs(b, args)
	b = append(b, '}')
	if sb != nil && (err != nil || !sb.owns(b)) {
		sb.put()
		sb = nil
	}
	return b, sb, err
}

// frame completes a message made by encodeFramed with its start.
func (o *outgoing) frame(id int64) []byte {
	var head [frameRoom]byte
	h := append(head[:0], '{')
	h = append(h, o.kind...)
	h = append(h, ":["...)
	h = appendID(h, id)
	start := frameRoom - len(h)
	copy(o.framed[start:], h)
	return o.framed[start:]
}

func (o *outgoing) size() int {
	return len(o.kind) + len(o.iface) + len(o.verb) + len(o.payload) + 40
}

// messageBuffer returns an empty buffer for a message of about n bytes.
// A large message starts from a small buffer: append then allocates the
// room for its payload without zeroing it first, as make would.
func messageBuffer(n int) []byte {
	if n > 4<<10 {
		return make([]byte, 0, 128)
	}
	return make([]byte, 0, n)
}

func (o *outgoing) appendTo(b []byte, id int64) []byte {
	b = append(b, '{')
	b = append(b, o.kind...)
	b = append(b, ":["...)
	b = appendID(b, id)
	if o.kind != "ping" {
		b = append(b, ',')
		b = mdsf.AppendString(b, o.iface)
	}
	b = append(b, ']')
	if o.verb != "" {
		b = append(b, ',')
		b = mdsf.AppendKey(b, o.verb)
		b = append(b, ':')
		b = append(b, o.payload...)
	}
	return append(b, '}')
}

// sendNumbered numbers, buffers and sends a call, event, inspect or ping. If p is not nil it is
// registered as pending under that id. It returns the signed id.
func (c *Connection) sendNumbered(o *outgoing, p *pendingCall) (int64, error) {
	c.mu.Lock()
	gone := c.closing || c.finished
	// An event on a server connection that lost its transport is still
	// buffered in the session, to be delivered if the client resumes it.
	if gone && (p != nil || c.server == nil) {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	s := c.session
	if s == nil {
		c.mu.Unlock()
		if gone {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("jstp: no handshake yet: %w", ErrProtocol)
	}
	s.mu.Lock()
	if s.conn != nil && s.conn != c {
		// A resumption has bound the session to another connection. This
		// one may not have finished closing (its transport closed and
		// the session was let go, but finish has not run yet): what it
		// buffered now would come after the resumption's resend, and go
		// nowhere.
		s.mu.Unlock()
		c.mu.Unlock()
		if p != nil || c.server == nil {
			return 0, ErrClosed
		}
		return 0, errMoved
	}
	abs := s.nextIDLocked()
	id := c.signed(abs)
	var msg []byte
	if o.framed != nil {
		msg = o.frame(id)
	} else {
		msg = o.appendTo(messageBuffer(o.size()), id)
	}
	// Both holds are taken while the session is locked, before anything
	// could find the message delivered and let go of it.
	o.sb.hold() // the session's
	o.sb.hold() // the send queue's
	s.buffer = append(s.buffer, bufferedMessage{id: abs, msg: msg, sb: o.sb, rest: o.rest})
	s.mu.Unlock()
	if p != nil {
		c.pending[id] = p
		if o.ctx != nil {
			c.watchLocked(o.ctx, p)
		}
	}
	ts := c.currentLocked()
	if ts != nil {
		ts.awaiting.Store(int32(min(len(c.pending), 1<<20)))
	} else {
		o.sb.unhold() // no queue: sent when the session is restored
	}
	writer := ts != nil && ts.enqueue(queued{msg, o.sb, o.rest})
	c.mu.Unlock()
	if h := testHookNumbered.Load(); h != nil {
		(*h)()
	}
	if writer {
		ts.flush()
	}
	return id, nil
}

// testHookLent, when set, runs after a call is parsed out of a lent
// buffer, before it is dispatched.
var testHookLent atomic.Pointer[func(*argLease)]

// testHookNumbered, when set, runs after a message is numbered, buffered
// and queued (or not, without a transport), before it is written.
var testHookNumbered atomic.Pointer[func()]

// testHookDetached, when set, runs on a server connection whose transport
// closed, once its session is let go and before the connection finishes.
var testHookDetached atomic.Pointer[func(*Connection)]

// errMoved reports that a server connection's session has moved to the
// connection of a resumption: the message belongs there.
var errMoved = errors.New("jstp: session moved to another connection")

// sendOn sends a callback, pong or handshake message on ts, if any.
func (c *Connection) sendOn(ts *transportState, msg []byte) {
	if ts != nil {
		ts.send(msg)
	}
}

func (c *Connection) sendCallback(ts *transportState, id int64, results []any, err error) {
	if err == nil {
		encErr := c.sendResults(ts, id, results)
		if encErr == nil {
			return
		}
		c.log.emit(LogEvent{Kind: LogError, Conn: c, Err: fmt.Errorf("jstp: cannot encode results: %w", encErr)})
		err = ErrInternalAPIError
	}
	msg := append(make([]byte, 0, 64), "{callback:["...)
	msg = append(appendID(msg, id), "],error:"...)
	body, encErr := mdsf.Append(msg, toWireError(err))
	if encErr != nil {
		body, _ = mdsf.Append(msg, []any{float64(CodeInternalAPIError)})
	}
	c.sendOn(ts, append(body, '}'))
}

// sendResults sends the callback {callback:[id],ok:results}. Large results
// are encoded into a pooled buffer, which the send queue gives back once
// written (see sendBuf); never while log events, which carry the messages
// sent, are on. Nothing is sent when results cannot be encoded.
func (c *Connection) sendResults(ts *transportState, id int64, results []any) error {
	var sb *sendBuf
	if n := argsSize(results); n >= sendPoolMin && ts != nil && !c.log.enabled() {
		sb = getSendBuf(32 + n + n/16)
	}
	msg := make([]byte, 0, 64)
	if sb != nil {
		msg = sb.buf[:0]
	}
	msg = append(msg, "{callback:["...)
	msg = append(appendID(msg, id), "],ok:"...)
	body, err := mdsf.AppendArray(msg, results)
	if err == nil {
		body = append(body, '}')
	}
	switch {
	case sb != nil && err == nil && sb.owns(body):
		sb.hold() // the send queue's, which enqueue takes over
		ts.enqueueAndFlush(queued{msg: body, sb: sb})
		return nil
	case sb != nil:
		sb.put() // not used, or outgrown: body moved to a fresh buffer
	}
	if err == nil {
		c.sendOn(ts, body)
	}
	return err
}

// ---- public calls ----

func (c *Connection) await(ctx context.Context, id int64, p *pendingCall) (any, error) {
	if p.watched || ctx.Done() == nil {
		r := <-p.ch
		p.release()
		return r.value, r.err
	}
	select {
	case r := <-p.ch:
		p.release()
		return r.value, r.err
	case <-ctx.Done():
		c.mu.Lock()
		mine := c.pending[id] == p
		if mine {
			delete(c.pending, id)
		}
		c.mu.Unlock()
		if mine {
			p.release()
		}
		return nil, ctx.Err()
	}
}

// Call calls method of the peer's interface iface with args and waits for
// its results. A JSTP error answered by the peer is returned as a
// *RemoteError; a call whose answer can no longer arrive fails with
// ErrCallbackLost. Args are Go values written with mdsf.Append.
//
// On a client, a call made while the connection is being restored is sent
// once the session is resumed; ctx bounds the wait. On a server, a call
// made on a connection whose session a resumption has moved to a new
// connection fails with ErrClosed: make it on the new one.
//
// Many goroutines may call under one shared ctx at little cost: the
// connection then watches that context once for all of them (with
// context.AfterFunc) instead of each call waiting on its Done channel.
func (c *Connection) Call(ctx context.Context, iface, method string, args ...any) ([]any, error) {
	// Log events carry the messages sent, which a hook may keep: those
	// are never pooled.
	framed, rest, sb, err := encodeFramed(iface, method, args, !c.log.enabled(), c.partsOK.Load())
	if err != nil {
		return nil, fmt.Errorf("jstp: call %s.%s: %w", iface, method, err)
	}
	p := newPending(pendCall)
	id, err := c.sendNumbered(&outgoing{kind: "call", framed: framed, rest: rest, sb: sb, ctx: ctx}, p)
	if err != nil {
		p.release()
		if sb != nil {
			sb.put() // never held: the call was not sent
		}
		return nil, err
	}
	v, err := c.await(ctx, id, p)
	if err != nil {
		return nil, err
	}
	return okResults(v), nil
}

func okResults(v any) []any {
	switch r := v.(type) {
	case []any:
		return r
	case nil:
		return nil
	default:
		return []any{r}
	}
}

// CallWithResend is Call, but when the answer is lost with a broken
// connection (ErrCallbackLost) the call is made again, with the same
// arguments, after the session is resumed.
func (c *Connection) CallWithResend(ctx context.Context, iface, method string, args ...any) ([]any, error) {
	for {
		res, err := c.Call(ctx, iface, method, args...)
		if !errors.Is(err, ErrCallbackLost) || c.isClosing() {
			return res, err
		}
	}
}

func (c *Connection) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.finished
}

// Emit sends event name of interface iface, with args, to the peer.
//
// On a server, events follow the session: emitted while the client is
// away, an event waits in the session for it to resume; emitted on a
// connection whose session a resumption has moved to a new connection,
// it goes out on that one.
func (c *Connection) Emit(iface, name string, args ...any) error {
	scratch := getScratch()
	payload, err := encodeArgs(*scratch, args)
	if err == nil {
		err = c.emitPayload(iface, name, payload)
	} else {
		err = fmt.Errorf("jstp: event %s.%s: %w", iface, name, err)
	}
	putScratch(scratch, payload)
	return err
}

// scratchPool holds buffers for encoding arguments before they are copied
// into a numbered message.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxScratch is the largest buffer kept for reuse.
const maxScratch = 64 << 10

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(p *[]byte, used []byte) {
	if cap(used) <= maxScratch {
		*p = used[:0]
		scratchPool.Put(p)
	}
}

// Inspect asks the peer for the methods of interface iface and returns a
// proxy for calling them and listening to its events. An unknown interface
// fails with ErrInterfaceNotFound.
func (c *Connection) Inspect(ctx context.Context, iface string) (*RemoteProxy, error) {
	p := newPending(pendInspect)
	id, err := c.sendNumbered(&outgoing{kind: "inspect", iface: iface, ctx: ctx}, p)
	if err != nil {
		p.release()
		return nil, err
	}
	v, err := c.await(ctx, id, p)
	if err != nil {
		return nil, err
	}
	var methods []string
	for _, m := range okResults(v) {
		if s, ok := m.(string); ok {
			methods = append(methods, s)
		}
	}
	proxy := &RemoteProxy{conn: c, iface: iface, methods: methods}
	c.mu.Lock()
	c.proxies[iface] = proxy
	c.mu.Unlock()
	return proxy, nil
}

// Ping sends a ping and waits for the pong.
func (c *Connection) Ping(ctx context.Context) error {
	p := newPending(pendPing)
	id, err := c.sendNumbered(&outgoing{kind: "ping", ctx: ctx}, p)
	if err != nil {
		p.release()
		return err
	}
	_, err = c.await(ctx, id, p)
	return err
}

// StartHeartbeat sends a ping every interval while the connection has a
// transport, replacing any heartbeat already running.
func (c *Connection) StartHeartbeat(interval time.Duration) {
	if interval <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heartbeatEvery = interval
	c.armHeartbeatLocked()
}

func (c *Connection) armHeartbeatLocked() {
	if c.heartbeat != nil {
		c.heartbeat.Stop()
	}
	if c.heartbeatEvery <= 0 || c.closing || c.finished {
		c.heartbeat = nil
		return
	}
	var t *time.Timer
	t = time.AfterFunc(c.heartbeatEvery, func() {
		c.mu.Lock()
		live := c.heartbeat == t && c.currentLocked() != nil
		c.mu.Unlock()
		if !live {
			return
		}
		_, _ = c.sendNumbered(&outgoing{kind: "ping"}, nil)
		c.mu.Lock()
		if c.heartbeat == t {
			t.Reset(c.heartbeatEvery)
		}
		c.mu.Unlock()
	})
	c.heartbeat = t
}

// StopHeartbeat stops sending heartbeat pings.
func (c *Connection) StopHeartbeat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heartbeatEvery = 0
	c.stopHeartbeatLocked()
}

func (c *Connection) stopHeartbeatLocked() {
	if c.heartbeat != nil {
		c.heartbeat.Stop()
		c.heartbeat = nil
	}
}

// Close closes the connection intentionally: no reconnection follows, calls
// in flight fail with ErrCallbackLost, and Close returns once the transport
// has reported its close.
func (c *Connection) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closing = true
	c.stopHeartbeatLocked()
	ts := c.tr
	c.mu.Unlock()
	c.closeCancel()
	if ts != nil {
		ts.end(nil)
		<-ts.closed
	}
	c.reconnWG.Wait()
	c.finish(ErrClosed)
	return nil
}

// finish ends the connection for good.
func (c *Connection) finish(reason error) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	c.finalErr = reason
	c.stopHeartbeatLocked()
	if c.hsTimer != nil {
		c.hsTimer.Stop()
	}
	pend := c.pending
	c.pending = make(map[int64]*pendingCall)
	stop := c.watch.stop
	c.watch = ctxWatch{}
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	failPending(pend, reason)
	c.cancel()
	c.closeCancel()
	close(c.done)
}

func failPending(pend map[int64]*pendingCall, reason error) {
	for _, p := range pend {
		switch {
		case p.kind == pendHandshake:
			p.resolve(callResult{err: ErrNoHandshakeResponse})
		default:
			p.resolve(callResult{err: lostError(reason)})
		}
	}
}

// lostError is ErrCallbackLost carrying why, so errors.Is works for both.
func lostError(reason error) error {
	if reason == nil || errors.Is(reason, ErrCallbackLost) {
		return ErrCallbackLost
	}
	return &lostCallback{reason: reason}
}

type lostCallback struct{ reason error }

func (e *lostCallback) Error() string {
	return ErrCallbackLost.Error() + ": " + e.reason.Error()
}
func (e *lostCallback) Is(target error) bool {
	return target == ErrCallbackLost || errors.Is(e.reason, target)
}
func (e *lostCallback) As(target any) bool {
	if t, ok := target.(**RemoteError); ok {
		*t = ErrCallbackLost
		return true
	}
	return false
}
func (e *lostCallback) Unwrap() error { return e.reason }

// transportClosed runs when a transport reports its close.
func (c *Connection) transportClosed(ts *transportState, err error) {
	c.mu.Lock()
	if c.tr != ts {
		c.mu.Unlock()
		return // a replaced transport
	}
	c.tr = nil
	c.stopHeartbeatLocked()
	wasDone := c.hsState == hsDone
	c.hsState = hsNone
	closing := c.closing
	reconnect := c.client != nil && c.hasConnected && !closing
	var hs []*pendingCall
	for id, p := range c.pending {
		if p.kind == pendHandshake {
			hs = append(hs, p)
			delete(c.pending, id)
		}
	}
	c.mu.Unlock()
	for _, p := range hs {
		p.resolve(callResult{err: ErrNoHandshakeResponse})
	}
	if err != nil && c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogError, Conn: c, Err: err})
	}
	if c.server != nil {
		c.server.connectionClosed(c, wasDone)
		if h := testHookDetached.Load(); h != nil {
			(*h)(c)
		}
		reason := err
		if reason == nil {
			reason = ErrClosed
		}
		c.finish(reason)
		return
	}
	if reconnect {
		c.startReconnecting()
		return
	}
	if !closing {
		reason := err
		if reason == nil {
			reason = ErrClosed
		}
		c.finish(reason)
	}
}

// ---- incoming messages ----

func (c *Connection) reject(ts *transportState, data []byte, why error, fatal bool) {
	if c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogRejected, Conn: c, Message: append([]byte(nil), data...), Err: why})
	}
	if fatal {
		ts.end(nil)
	}
}

// receive handles one inbound message from ts.
func (c *Connection) receive(ts *transportState, data []byte) {
	if ts.isEnding() {
		return
	}
	var m inMessage
	isObject, err := parseMessage(data, &m, &ts.names, ts)
	if m.held != nil {
		defer m.held.release()
	}
	if m.lease != nil {
		// Released here unless onCall hands it to the call's task.
		defer func() { m.lease.release() }()
		if h := testHookLent.Load(); h != nil {
			(*h)(m.lease)
		}
	}
	if err != nil {
		// The reference closes the connection on a message it cannot parse.
		c.reject(ts, data, err, true)
		return
	}
	c.mu.Lock()
	hs := c.hsState
	current := c.tr == ts
	c.mu.Unlock()
	if !current {
		return
	}
	if !isObject {
		c.reject(ts, data, fmt.Errorf("%w: message is not an object", ErrProtocol), hs != hsDone)
		return
	}
	if m.kind == "" {
		if c.log.enabled() {
			c.log.emit(LogEvent{Kind: LogHeartbeat, Conn: c})
		}
		return
	}
	if c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogIncoming, Conn: c, Message: append([]byte(nil), data...)})
	}
	if hs != hsDone {
		if m.kind != "handshake" || hs == hsPending && c.server != nil {
			c.reject(ts, data, fmt.Errorf("%w: %s before handshake", ErrProtocol, m.kind), true)
			return
		}
	}
	if err := m.headerError(); err != nil {
		c.reject(ts, data, err, hs != hsDone)
		return
	}
	switch m.kind {
	case "handshake":
		c.onHandshake(ts, data, m.obj, m.head, m.id)
	case "call":
		c.onCall(ts, data, &m)
	case "callback":
		c.onCallback(ts, data, &m)
	case "event":
		c.onEvent(ts, data, &m)
	case "inspect":
		c.onInspect(ts, &m)
	case "ping":
		c.onPing(ts, m.id)
	case "pong":
		c.onPong(ts, data, m.id)
	default:
		c.reject(ts, data, fmt.Errorf("%w: unknown message kind %q", ErrProtocol, m.kind), false)
	}
}

// verb returns the second member of a message, if any.
func verb(obj mdsf.Object) (string, any, bool) {
	if len(obj) < 2 {
		return "", nil, false
	}
	return obj[1].Key, obj[1].Value, true
}

func (c *Connection) onHandshake(ts *transportState, data []byte, obj mdsf.Object, head []any, id int64) {
	c.mu.Lock()
	hs := c.hsState
	c.mu.Unlock()
	if hs == hsDone {
		c.reject(ts, data, fmt.Errorf("%w: second handshake", ErrProtocol), true)
		return
	}
	if len(head) > 1 && head[1] != nil && head[1] != false && head[1] != "" {
		if c.server == nil {
			c.log.emit(LogEvent{Kind: LogHandshake, Conn: c, Err: ErrNotAServer})
			ts.end(handshakeError(ErrNotAServer))
			return
		}
		c.server.handshakeRequest(c, ts, data, obj, head)
		return
	}
	if c.client == nil {
		c.reject(ts, data, fmt.Errorf("%w: handshake answer sent to a server", ErrProtocol), true)
		return
	}
	c.mu.Lock()
	p := c.pending[id]
	if p != nil && p.kind == pendHandshake {
		delete(c.pending, id)
	} else {
		p = nil
	}
	c.mu.Unlock()
	if p == nil {
		c.reject(ts, data, fmt.Errorf("%w: unexpected handshake answer", ErrProtocol), true)
		return
	}
	name, val, _ := verb(obj)
	switch name {
	case "ok":
		var err error
		if p.complete != nil {
			err = p.complete(ts, val)
		}
		if err != nil {
			c.reject(ts, data, err, true)
		}
		c.log.emit(LogEvent{Kind: LogHandshake, Conn: c, Err: err})
		p.resolve(callResult{value: val, err: err})
	case "error":
		err := errorFromWire(val)
		c.log.emit(LogEvent{Kind: LogHandshake, Conn: c, Err: err})
		p.resolve(callResult{err: err})
	default:
		err := fmt.Errorf("%w: malformed handshake answer", ErrProtocol)
		c.reject(ts, data, err, true)
		p.resolve(callResult{err: err})
	}
}

func handshakeError(err error) []byte {
	b := []byte("{handshake:[0],error:")
	b, _ = mdsf.Append(b, toWireError(err))
	return append(b, '}')
}

func (c *Connection) onCall(ts *transportState, data []byte, m *inMessage) {
	id, iface, name, val := m.id, m.iface, m.verb, m.payload
	s := c.Session()
	s.onMessageReceived(absID(id))
	app := c.Application()
	lease := m.lease
	if lease != nil && (app == nil || !app.borrows(iface, name)) {
		// The applications were updated since the message was parsed,
		// and the method it now goes to does not borrow: its arguments
		// get memory of their own (the lease is released by receive).
		v, err := lease.unlent()
		if err != nil {
			c.reject(ts, data, err, true) // cannot happen: it parsed before
			return
		}
		val, lease = v, nil
	}
	args, ok := val.([]any)
	if !ok {
		c.sendCallback(ts, id, nil, ErrInvalidSignature)
		return
	}
	if c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogCall, Conn: c, Interface: iface, Name: name, Args: args})
	}
	if app == nil {
		c.sendCallback(ts, id, nil, ErrInterfaceNotFound)
		return
	}
	task := callTask{c: c, ts: ts, app: app, id: id, iface: iface, name: name, args: args, lease: lease}
	if lease != nil {
		m.lease = nil // the task releases it
	}
	ts.calls.Add(1) // until the answer is queued; see callTask.run
	var started bool
	switch {
	case ts.readsBatches && app.inline(iface, name):
		started = c.runInline(ts, &task)
	case c.server == nil:
		t := task // a copy, so that task itself does not escape
		go t.run()
		return
	default:
		started = c.server.startCall(task)
	}
	if !started { // the server is shutting down
		c.sendCallback(ts, id, nil, ErrInternalAPIError)
		ts.calls.Add(-1)
		task.lease.release()
	}
}

// runInline runs a call to a NonBlocking method on the goroutine that
// delivers messages; its answer waits in the send queue for EndBatch. It
// reports false, running nothing, once the server is shutting down.
func (c *Connection) runInline(ts *transportState, t *callTask) bool {
	if c.server != nil {
		if !c.server.admit() {
			return false
		}
		defer c.server.handlers.done()
	}
	if !ts.batchOpen {
		ts.batchOpen = true
		ts.mu.Lock()
		ts.batching = true
		ts.mu.Unlock()
	}
	t.run()
	return true
}

// lends reports whether the arguments of a call to iface.name may be lent
// (see BorrowArgs): the method asks for it and no log event can carry them.
func (c *Connection) lends(iface, name string) bool {
	if c.log.enabled() {
		return false
	}
	app := c.Application()
	return app != nil && app.borrows(iface, name)
}

// lends and take make ts the lender of the messages it delivers.
func (ts *transportState) lends(iface, name string) bool { return ts.c.lends(iface, name) }

func (ts *transportState) take() (func(), bool) {
	if mt, ok := ts.t.(MessageTaker); ok {
		return mt.TakeMessage()
	}
	return nil, false
}

func (c *Connection) onCallback(ts *transportState, data []byte, m *inMessage) {
	id, name, val := m.id, m.verb, m.payload
	p, ok := c.answered(ts, data, id, "callback")
	if !ok {
		return
	}
	if c.log.enabled() {
		ev := LogEvent{Kind: LogCallback, Conn: c}
		if name == "error" {
			ev.Err = errorFromWire(val)
		} else {
			ev.Args = okResults(val)
		}
		c.log.emit(ev)
	}
	if p == nil {
		c.reject(ts, data, fmt.Errorf("%w: callback for unknown id %d", ErrProtocol, id), false)
		return
	}
	switch name {
	case "ok":
		p.resolve(callResult{value: val})
	case "error":
		p.resolve(callResult{err: errorFromWire(val)})
	default:
		p.resolve(callResult{err: fmt.Errorf("%w: callback without ok or error", ErrProtocol)})
		c.reject(ts, data, fmt.Errorf("%w: callback without ok or error", ErrProtocol), false)
	}
}

func (c *Connection) onEvent(ts *transportState, data []byte, m *inMessage) {
	id, iface, name, val := m.id, m.iface, m.verb, m.payload
	c.Session().onMessageReceived(absID(id))
	args, ok := val.([]any)
	if !ok {
		c.reject(ts, data, fmt.Errorf("%w: event arguments are not an array", ErrProtocol), false)
		return
	}
	if c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogEventMsg, Conn: c, Interface: iface, Name: name, Args: args})
	}
	c.mu.Lock()
	proxy := c.proxies[iface]
	app := c.app
	c.mu.Unlock()
	var handler EventFunc
	if app != nil {
		handler = app.eventHandler(iface, name)
	}
	if proxy == nil && handler == nil {
		return
	}
	c.dispatchEvent(func() {
		if proxy != nil {
			proxy.deliver(name, args)
		}
		if handler != nil {
			handler(c, args)
		}
	})
}

// dispatchEvent runs fn after the event handlers queued before it, on a
// goroutine that exists only while there is work. The queue belongs to the
// session, so handlers stay in order across a resumption, when a server
// session moves to a new connection.
func (c *Connection) dispatchEvent(fn func()) {
	q := &c.events
	if s := c.Session(); s != nil {
		q = &s.events
	}
	if !q.push(fn) {
		return
	}
	run := func() {
		for next := q.next(); next != nil; next = q.next() {
			c.safely("event handler", next)
		}
	}
	if c.server != nil {
		c.server.goHandler(run)
	} else {
		go run()
	}
}

// serialQueue runs functions one at a time, in order; whoever pushes onto
// an idle queue must start a runner that calls next until it returns nil.
type serialQueue struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

// push queues fn and reports whether the caller must start a runner.
func (q *serialQueue) push(fn func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, fn)
	if q.running {
		return false
	}
	q.running = true
	return true
}

// next returns the next function, or nil (and marks the queue idle).
func (q *serialQueue) next() func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		q.running = false
		q.queue = nil
		return nil
	}
	fn := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	return fn
}

func (c *Connection) safely(what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			c.log.emit(LogEvent{Kind: LogPanic, Conn: c, Err: fmt.Errorf("jstp: %s panicked: %v", what, p)})
		}
	}()
	fn()
}

func (c *Connection) logPanic(iface, name string, p any) {
	c.log.emit(LogEvent{Kind: LogPanic, Conn: c, Interface: iface, Name: name, Err: fmt.Errorf("jstp: method %s.%s panicked: %v", iface, name, p)})
}

func (c *Connection) onInspect(ts *transportState, m *inMessage) {
	id, iface := m.id, m.iface
	c.Session().onMessageReceived(absID(id))
	if c.log.enabled() {
		c.log.emit(LogEvent{Kind: LogInspect, Conn: c, Interface: iface})
	}
	app := c.Application()
	var methods []string
	ok := false
	if app != nil {
		methods, ok = app.Methods(iface)
	}
	if !ok {
		c.sendCallback(ts, id, nil, ErrInterfaceNotFound)
		return
	}
	res := make([]any, len(methods))
	for i, m := range methods {
		res[i] = m
	}
	c.sendCallback(ts, id, res, nil)
}

func (c *Connection) onPing(ts *transportState, id int64) {
	msg := make([]byte, 0, 24)
	msg = append(msg, "{pong:["...)
	msg = appendID(msg, id)
	msg = append(msg, "]}"...)
	ts.send(msg)
	c.Session().onMessageReceived(absID(id))
}

// answered handles the id of a callback or pong: it must answer a message
// this side sent (our sign, within what we numbered); that message and all
// before it are then known delivered, and the call waiting for the answer,
// if any, is taken out of the pending set. An impossible id is rejected.
func (c *Connection) answered(ts *transportState, data []byte, id int64, kind string) (*pendingCall, bool) {
	c.mu.Lock()
	if s := c.session; (id < 0) != (c.server != nil) || s == nil || !s.onDelivered(absID(id)) {
		c.mu.Unlock()
		c.reject(ts, data, fmt.Errorf("%w: %s for a message never sent", ErrProtocol, kind), false)
		return nil, false
	}
	p := c.pending[id]
	if p != nil {
		delete(c.pending, id)
		c.unwatchLocked(p)
	}
	c.mu.Unlock()
	return p, true
}

func (c *Connection) onPong(ts *transportState, data []byte, id int64) {
	if p, ok := c.answered(ts, data, id, "pong"); ok && p != nil {
		p.resolve(callResult{})
	}
}

// restoreLocked brings the session in line with what the peer reports to
// have received, after a resumption, and resends what it lacks. Callbacks
// that can no longer arrive are returned to be failed by the caller.
// Caller holds c.mu.
func (c *Connection) restoreLocked(ts *transportState, peerReceived int64) (lost []*pendingCall, flush bool) {
	s := c.session
	s.mu.Lock()
	if peerReceived > s.lastID {
		peerReceived = s.lastID
	}
	s.dropDeliveredLocked(peerReceived)
	resend := make([]queued, len(s.buffer))
	for i, m := range s.buffer {
		m.sb.hold() // the send queue's
		resend[i] = queued{m.msg, m.sb, m.rest}
	}
	s.mu.Unlock()
	for id, p := range c.pending {
		if p.kind != pendHandshake && absID(id) <= peerReceived {
			lost = append(lost, p)
			delete(c.pending, id)
			c.unwatchLocked(p)
		}
	}
	for _, q := range resend {
		if ts.enqueue(q) {
			flush = true
		}
	}
	return lost, flush
}
