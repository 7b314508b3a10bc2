//go:build linux

package gobwas

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// pollSupported reports whether this system has the epoll poller.
const pollSupported = true

// poller drives the reads of many server-side connections from one epoll
// instance, so that an idle connection holds no goroutine and no buffer.
//
// One goroutine waits for events. It does not block in epoll_wait, which
// would keep its P (the Go scheduler's processor) tied up in the system
// call until the runtime takes it back, tens of microseconds to
// milliseconds later: with GOMAXPROCS=1 every message would wait that
// long. Instead the epoll descriptor, itself pollable, is handed to Go's
// own network poller: the goroutine asks epoll_wait for events without
// waiting and parks in the network poller, holding no P, when there are
// none. Each socket is registered with
// EPOLLONESHOT: when it becomes readable it is disarmed and handed to a
// worker, which reads what is there (into a buffer it borrows only for the
// turn), delivers complete messages in order, and rearms it. ONESHOT is what
// guarantees that no two workers ever read one connection at once.
//
// Workers are a small fixed pool. When all of them are busy (for example
// inside a slow Receiver or writing a pong to a slow peer), an event is
// handled by a temporary goroutine instead of waiting, so that one slow
// connection cannot delay the others.
type poller struct {
	epfd  int
	epf   *os.File        // owns epfd; registered with Go's network poller
	eprc  syscall.RawConn // epf's, for waiting until epfd has events
	wakeR int             // read end of a pipe that stops the wait loop
	wakeW int

	mu     sync.Mutex
	conns  map[uint64]*Transport
	nextID uint64
	closed bool

	work     chan *Transport
	loopDone chan struct{}  // closed when the wait loop returns
	stopped  chan struct{}  // closed when stop has released everything
	wg       sync.WaitGroup // workers and temporary goroutines
	bufs     sync.Pool      // read chunks for temporary goroutines
}

const (
	pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT
	wakeID     = 0 // epoll data of the wake pipe; connection ids start at 1
)

// newPoller starts an epoll instance, its wait loop and workers workers
// (0: max(2, GOMAXPROCS)).
func newPoller(workers int) (*poller, error) {
	if workers <= 0 {
		workers = max(2, runtime.GOMAXPROCS(0))
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var pfd [2]int
	if err := syscall.Pipe2(pfd[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setEventID(&ev, wakeID)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pfd[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pfd[0])
		syscall.Close(pfd[1])
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile is registered with
	// the network poller.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		syscall.Close(pfd[0])
		syscall.Close(pfd[1])
		return nil, err
	}
	epf := os.NewFile(uintptr(epfd), "epoll")
	eprc, err := epf.SyscallConn()
	if err != nil {
		epf.Close()
		syscall.Close(pfd[0])
		syscall.Close(pfd[1])
		return nil, err
	}
	p := &poller{
		epfd:     epfd,
		epf:      epf,
		eprc:     eprc,
		wakeR:    pfd[0],
		wakeW:    pfd[1],
		conns:    make(map[uint64]*Transport),
		work:     make(chan *Transport), // unbuffered: a send succeeds only when a worker is idle
		loopDone: make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	p.bufs.New = func() any { b := make([]byte, readChunkSize); return &b }
	p.wg.Add(workers)
	go p.loop()
	for range workers {
		go p.worker()
	}
	return p, nil
}

// The 64-bit epoll data carries a connection id, not a descriptor, so that
// a stale event for a closed socket whose descriptor number was reused is
// not mistaken for the new one.
func setEventID(ev *syscall.EpollEvent, id uint64) {
	ev.Fd = int32(uint32(id))
	ev.Pad = int32(uint32(id >> 32))
}

func eventID(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// attach makes t poller-driven if its connection is a TCP socket.
func (p *poller) attach(t *Transport) bool {
	tc, ok := t.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.nextID++
	t.id = p.nextID
	t.raw = raw
	t.poll = p
	p.conns[t.id] = t
	return true
}

// arm registers (add) or rearms the socket for one readiness event.
func (p *poller) arm(t *Transport, add bool) error {
	op := syscall.EPOLL_CTL_MOD
	if add {
		op = syscall.EPOLL_CTL_ADD
	}
	var cerr error
	err := t.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents}
		setEventID(&ev, t.id)
		cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// remove forgets t; it is called before its socket is closed.
func (p *poller) remove(t *Transport) {
	_ = t.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	delete(p.conns, t.id)
	p.mu.Unlock()
}

// dispatch hands t to a worker, or to a temporary goroutine when every
// worker is busy. It reports false when the poller is stopped.
func (p *poller) dispatch(t *Transport) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	select {
	case p.work <- t:
		p.mu.Unlock()
		return true
	default:
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		bp := p.bufs.Get().(*[]byte)
		t.onReadable(*bp)
		p.bufs.Put(bp)
	}()
	return true
}

func (p *poller) worker() {
	defer p.wg.Done()
	buf := make([]byte, readChunkSize)
	for t := range p.work {
		t.onReadable(buf)
	}
}

func (p *poller) loop() {
	defer close(p.loopDone)
	events := make([]syscall.EpollEvent, 128)
	for {
		var n int
		var werr error
		// Read calls the function before every wait, so events pending
		// when the loop comes back here are taken at once.
		err := p.eprc.Read(func(uintptr) bool {
			for {
				n, werr = syscall.EpollWait(p.epfd, events, 0)
				if werr != syscall.EINTR {
					return n > 0 || werr != nil
				}
			}
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			// EBADF and the like: the poller is unusable.
			p.failAll(err)
			return
		}
		for i := range n {
			id := eventID(&events[i])
			if id == wakeID {
				p.mu.Lock()
				closed := p.closed
				p.mu.Unlock()
				if closed {
					return
				}
				continue
			}
			p.mu.Lock()
			t := p.conns[id]
			p.mu.Unlock()
			if t != nil {
				p.dispatch(t)
			}
		}
	}
}

// failAll closes every connection when epoll itself fails.
func (p *poller) failAll(err error) {
	p.mu.Lock()
	ts := make([]*Transport, 0, len(p.conns))
	for _, t := range p.conns {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.lost(errors.Join(errors.New("gobwas: epoll failed"), err))
	}
}

// stop ends the wait loop and the workers and releases the epoll instance.
// The caller closes the connections first: one still attached is read no
// more.
func (p *poller) stop() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.stopped
		return
	}
	p.closed = true
	p.mu.Unlock()
	defer close(p.stopped)
	_, _ = syscall.Write(p.wakeW, []byte{1})
	<-p.loopDone
	// dispatch sends only under mu and not once closed is set: work can be
	// closed safely.
	close(p.work)
	p.wg.Wait()
	p.epf.Close() // and with it epfd
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
}

// errWouldBlock is what rawRead returns when nothing is left to read.
var errWouldBlock error = syscall.EAGAIN

// rawRead reads once from a non-blocking socket without waiting.
func rawRead(raw syscall.RawConn, buf []byte) (int, error) {
	var n int
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return n, nil
}
