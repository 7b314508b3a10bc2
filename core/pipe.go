package jstp

import (
	"errors"
	"net"
	"sync"
)

// ErrTransportClosed is returned by Send on a transport that is closed.
var ErrTransportClosed = errors.New("jstp: transport closed")

// ErrTransportBroken is the error a pipe end reports to its Receiver when
// the pipe was broken abruptly with Break.
var ErrTransportBroken = errors.New("jstp: transport broken")

// PipeAddr is the address of one end of an in-memory pipe.
type PipeAddr string

// Network returns "pipe".
func (PipeAddr) Network() string { return "pipe" }

// String returns the end's name.
func (a PipeAddr) String() string { return string(a) }

// PipeEnd is one end of an in-memory Transport created by Pipe.
type PipeEnd struct {
	addr PipeAddr
	peer *PipeEnd

	mu      sync.Mutex
	queue   [][]byte // messages sent by the peer, not yet delivered
	wake    chan struct{}
	closed  bool  // no more sends from this end
	err     error // set when the pipe was broken
	started bool
	done    chan struct{} // closed when the delivery goroutine ends
	recv    Receiver
}

// Pipe creates a connected pair of in-memory Transports, like net.Pipe but
// message-oriented: what one end sends, the other receives, in order. Sends
// never block (messages queue until delivered). Closing either end closes
// both; messages already sent are still delivered first. Break severs the
// pipe abruptly, dropping what is queued, like a cut network cable.
func Pipe() (*PipeEnd, *PipeEnd) {
	a := &PipeEnd{addr: "pipe-a", wake: make(chan struct{}, 1), done: make(chan struct{})}
	b := &PipeEnd{addr: "pipe-b", wake: make(chan struct{}, 1), done: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

// Start begins delivering messages to r from a goroutine of its own, which
// ends when the pipe closes.
func (p *PipeEnd) Start(r Receiver) {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		panic("jstp: PipeEnd.Start called twice")
	}
	p.started = true
	p.recv = r
	p.mu.Unlock()
	go p.deliver()
}

// deliver hands the peer's messages to the Receiver: everything queued
// when it looks is one read, followed by EndBatch when the Receiver is a
// BatchEnder (see ReadsBatches).
func (p *PipeEnd) deliver() {
	defer close(p.done)
	ender, _ := p.recv.(BatchEnder)
	var batch [][]byte
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if p.err != nil || len(p.queue) == 0 {
			err := p.err
			p.queue = nil
			p.mu.Unlock()
			p.recv.Closed(err)
			return
		}
		batch, p.queue = p.queue, batch[:0]
		p.mu.Unlock()
		for i, msg := range batch {
			batch[i] = nil
			p.mu.Lock()
			broken := p.err != nil // Break drops what is not delivered yet
			p.mu.Unlock()
			if broken {
				break
			}
			p.recv.Message(msg)
		}
		if ender != nil {
			ender.EndBatch()
		}
	}
}

// ReadsBatches implements ReadBatcher: each time the delivering goroutine
// finds messages queued, it delivers them all and then calls EndBatch.
func (p *PipeEnd) ReadsBatches() bool { return true }

func (p *PipeEnd) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Send queues a copy of msg for delivery at the other end.
func (p *PipeEnd) Send(msg []byte) error { return p.push(msg) }

// SendBatch queues copies of msgs, in order, for delivery at the other end
// (PipeEnd implements BatchSender).
func (p *PipeEnd) SendBatch(msgs [][]byte) error { return p.push(msgs...) }

func (p *PipeEnd) push(msgs ...[]byte) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrTransportClosed
	}
	peer := p.peer
	peer.mu.Lock()
	if peer.closed {
		peer.mu.Unlock()
		return ErrTransportClosed
	}
	for _, msg := range msgs {
		peer.queue = append(peer.queue, append([]byte(nil), msg...))
	}
	peer.mu.Unlock()
	peer.signal()
	return nil
}

// Close closes both ends of the pipe. Messages already sent are delivered
// before each end's Receiver learns of the close.
func (p *PipeEnd) Close() error {
	p.shut(nil)
	p.peer.shut(nil)
	return nil
}

// Break severs both ends abruptly: queued messages are dropped and each
// Receiver is told ErrTransportBroken.
func (p *PipeEnd) Break() {
	p.shut(ErrTransportBroken)
	p.peer.shut(ErrTransportBroken)
}

func (p *PipeEnd) shut(err error) {
	p.mu.Lock()
	if err != nil && p.err == nil {
		p.err = err
		p.queue = nil
	}
	p.closed = true
	p.mu.Unlock()
	p.signal()
}

// RemoteAddr returns the name of the other end.
func (p *PipeEnd) RemoteAddr() net.Addr { return p.peer.addr }

// LocalAddr returns the name of this end.
func (p *PipeEnd) LocalAddr() net.Addr { return p.addr }
