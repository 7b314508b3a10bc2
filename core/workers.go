package jstp

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// workerIdleTimeout is how long a server's idle call worker waits for work
// before it exits.
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
}

func (t *callTask) run() {
	res, err := t.app.call(t.c.ctx, t.c, t.iface, t.name, t.args)
	t.c.sendCallback(t.ts, t.id, res, err)
}

// workerPool runs a server's incoming calls on goroutines that survive the
// call and wait for the next one, so that a busy server neither creates a
// goroutine per call nor grows a fresh stack for each. Each call still runs
// on a goroutine of its own while it runs; idle workers exit after
// workerIdleTimeout, and all of them when the pool closes.
type workerPool struct {
	idleTimeout time.Duration
	spawned     atomic.Int64 // workers started, for tests

	mu     sync.Mutex
	idle   []chan callTask // parked workers, most recent last
	closed bool
	wg     sync.WaitGroup
	done   chan struct{} // closed by close
}

func newWorkerPool() *workerPool {
	return &workerPool{idleTimeout: workerIdleTimeout, done: make(chan struct{})}
}

// submit runs t on an idle worker, or on a new one.
func (p *workerPool) submit(t callTask) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
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
	timer := time.NewTimer(p.idleTimeout)
	defer timer.Stop()
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
		p.idle = append(p.idle, ch)
		p.mu.Unlock()
		timer.Reset(p.idleTimeout)
		select {
		case t = <-ch:
			timer.Stop()
			continue
		case <-timer.C:
		case <-p.done:
		}
		// Leave the idle list; if a submitter took this worker meanwhile,
		// its task is on the way and must be run.
		p.mu.Lock()
		i := slices.Index(p.idle, ch)
		if i >= 0 {
			p.idle = slices.Delete(p.idle, i, i+1)
		}
		p.mu.Unlock()
		if i >= 0 {
			return
		}
		t = <-ch
	}
}

// close makes idle workers exit and busy ones exit after their call, and
// waits for them.
func (p *workerPool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
