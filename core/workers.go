package jstp

import (
	"sync"
	"sync/atomic"
	"time"
)

// workerIdleTimeout is how long, at least, a server's idle call worker
// waits for work before it exits (at most half as long again; see reap).
const workerIdleTimeout = 10 * time.Second

// callTask is one incoming call waiting for a goroutine to run it.
type callTask struct {
	c     *Connection
	ts    *transportState
	app   *Application
	id    int64
	iface string
	name  string
	args  []any
	lease *argLease // the buffer args share, if lent (see BorrowArgs)
}

func (t *callTask) run() {
	res, err := t.app.call(t.c.ctx, t.c, t.iface, t.name, t.args)
	t.c.sendCallback(t.ts, t.id, res, err)
	t.lease.release() // the answer is encoded: nothing uses args any more
	if t.ts != nil {
		t.ts.calls.Add(-1)
	}
}

// workerPool runs a server's incoming calls on goroutines that survive the
// call and wait for the next one, so that a busy server neither creates a
// goroutine per call nor grows a fresh stack for each. Each call still runs
// on a goroutine of its own while it runs. A parked worker waits on its own
// channel only; one pool-wide timer retires the workers idle for longer
// than idleTimeout (by closing their channels; see reap), and close
// retires them all.
type workerPool struct {
	idleTimeout time.Duration
	spawned     atomic.Int64 // workers started, for tests

	mu     sync.Mutex
	idle   []idleWorker // parked workers, oldest first
	reaper *time.Timer  // armed while idle is not empty
	gen    uint64       // runs of reap so far
	closed bool
	wg     sync.WaitGroup
}

type idleWorker struct {
	ch  chan callTask
	gen uint64 // the pool's gen when it parked
}

func newWorkerPool() *workerPool {
	return &workerPool{idleTimeout: workerIdleTimeout}
}

// submit runs t on the most recently parked worker, or on a new one.
func (p *workerPool) submit(t callTask) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1].ch
		p.idle[n-1] = idleWorker{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- t
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	p.spawned.Add(1)
	go p.work(t)
}

func (p *workerPool) work(t callTask) {
	defer p.wg.Done()
	ch := make(chan callTask)
	for {
		t.run()
		srv := t.c.server
		t = callTask{}
		srv.handlers.done()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, idleWorker{ch: ch, gen: p.gen})
		if p.reaper == nil {
			p.reaper = time.AfterFunc(p.idleTimeout/2, p.reap)
		}
		p.mu.Unlock()
		var ok bool
		if t, ok = <-ch; !ok {
			return // retired
		}
	}
}

// reap retires the workers parked for at least the idle timeout. It runs
// every half idle timeout while any worker is parked, and counts its runs
// in gen; a worker parked when gen was g has been idle for at least one
// idle timeout once gen reaches g+3 (and for less than one and a half).
// Counting ticks instead of reading the clock at every park keeps
// time.Now, which is slow on some virtual machines, off the call path.
func (p *workerPool) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.gen++
	n := 0
	for n < len(p.idle) && p.gen-p.idle[n].gen >= 3 {
		close(p.idle[n].ch)
		p.idle[n] = idleWorker{}
		n++
	}
	p.idle = p.idle[n:]
	if len(p.idle) == 0 {
		p.reaper = nil
		return
	}
	p.reaper.Reset(p.idleTimeout / 2)
}

// close retires idle workers at once and busy ones after their call, and
// waits for them.
func (p *workerPool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		for _, w := range p.idle {
			close(w.ch)
		}
		p.idle = nil
		if p.reaper != nil {
			p.reaper.Stop()
			p.reaper = nil
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}
