package jstp

import "context"

// ctxWatch lets the calls that many goroutines make under one shared
// context wait for their answers without also selecting on that context's
// Done channel. Hundreds of callers parked on the same Done channel all
// lock it, on every call, and contend for that lock (a fifth of a load
// generator's CPU profile with 1024 callers on one connection, see
// docs/performance.md). Instead the connection registers one
// context.AfterFunc for the shared context, which fails the calls waiting
// under it when it ends.
//
// A context becomes watched at the second call in a row made under it
// (see watchLocked): a context per call, the other common pattern, is
// never watched, so it costs no AfterFunc, and its call selects on Done as
// before. One context at a time is watched per connection; calls under
// any other context select. The watch moves to another shared context only
// when no call waits under the one watched, and it ends with the
// connection or when its context does.
//
// All fields are guarded by Connection.mu.
type ctxWatch struct {
	done <-chan struct{} // the watched context's Done channel; nil when none is
	stop func() bool     // stops the AfterFunc registered for it
	n    int             // calls waiting under it with watched set
	// last is the Done channel of the latest call whose context was not
	// watched: a second call under it starts the watch.
	last <-chan struct{}
}

// watchLocked decides how p, just made pending under ctx, waits: watched
// (the connection fails it when ctx ends) or not (its waiter selects on
// ctx.Done()). Caller holds c.mu.
func (c *Connection) watchLocked(ctx context.Context, p *pendingCall) {
	done := ctx.Done()
	if done == nil {
		return // never ends: await waits on p.ch alone
	}
	w := &c.watch
	switch {
	case done == w.done:
	case done == w.last && w.n == 0:
		if w.stop != nil {
			w.stop() // its calls are all answered; a late run finds done replaced
		}
		w.done = done
		w.stop = context.AfterFunc(ctx, func() { c.ctxEnded(ctx, done) })
	default:
		w.last = done
		return
	}
	w.n++
	p.watched = true
}

// unwatchLocked accounts for p leaving the pending set by any way other
// than ctxEnded. Caller holds c.mu.
func (c *Connection) unwatchLocked(p *pendingCall) {
	if p.watched {
		c.watch.n--
	}
}

// ctxEnded is the AfterFunc of a watched context: it fails every watched
// call with the context's error. Nothing is stopped: the AfterFunc has run.
func (c *Connection) ctxEnded(ctx context.Context, done <-chan struct{}) {
	c.mu.Lock()
	if c.watch.done != done {
		c.mu.Unlock() // replaced, or the connection finished, before this ran
		return
	}
	var ended []*pendingCall
	for id, p := range c.pending {
		if p.watched {
			delete(c.pending, id)
			ended = append(ended, p)
		}
	}
	c.watch = ctxWatch{last: c.watch.last}
	c.mu.Unlock()
	err := ctx.Err()
	for _, p := range ended {
		p.resolve(callResult{err: err})
	}
}
