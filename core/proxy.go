package jstp

import (
	"context"
	"slices"
	"sync"
)

// RemoteProxy stands for one interface of the peer, as Inspect found it:
// its methods can be called by name, the peer's events on that interface
// reach its listeners, and Emit sends events to the peer.
type RemoteProxy struct {
	conn    *Connection
	iface   string
	methods []string

	mu        sync.Mutex
	listeners map[string][]*listener
}

type listener struct{ fn func(args []any) }

// Interface returns the name of the interface.
func (p *RemoteProxy) Interface() string { return p.iface }

// Methods returns the method names the peer reported.
func (p *RemoteProxy) Methods() []string { return slices.Clone(p.methods) }

// Connection returns the connection the proxy calls over.
func (p *RemoteProxy) Connection() *Connection { return p.conn }

// Call calls method with args. A method the peer did not report fails
// locally with ErrMethodNotFound, without a round trip.
func (p *RemoteProxy) Call(ctx context.Context, method string, args ...any) ([]any, error) {
	if !slices.Contains(p.methods, method) {
		return nil, ErrMethodNotFound
	}
	return p.conn.Call(ctx, p.iface, method, args...)
}

// CallWithResend is Call with the semantics of Connection.CallWithResend.
func (p *RemoteProxy) CallWithResend(ctx context.Context, method string, args ...any) ([]any, error) {
	if !slices.Contains(p.methods, method) {
		return nil, ErrMethodNotFound
	}
	return p.conn.CallWithResend(ctx, p.iface, method, args...)
}

// On adds fn as a listener of the peer's event on this interface and
// returns a function that removes it. Listeners run on the connection's
// event goroutine, one event at a time, in arrival order.
func (p *RemoteProxy) On(event string, fn func(args []any)) (remove func()) {
	l := &listener{fn: fn}
	p.mu.Lock()
	if p.listeners == nil {
		p.listeners = make(map[string][]*listener)
	}
	p.listeners[event] = append(p.listeners[event], l)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		ls := p.listeners[event]
		if i := slices.Index(ls, l); i >= 0 {
			p.listeners[event] = slices.Delete(slices.Clone(ls), i, i+1)
		}
	}
}

// Emit sends the event to the peer and, as the reference's proxies do,
// also delivers it to this proxy's own listeners.
func (p *RemoteProxy) Emit(event string, args ...any) error {
	if err := p.conn.Emit(p.iface, event, args...); err != nil {
		return err
	}
	if args == nil {
		args = []any{}
	}
	p.conn.dispatchEvent(func() { p.deliver(event, args) })
	return nil
}

func (p *RemoteProxy) deliver(event string, args []any) {
	p.mu.Lock()
	ls := p.listeners[event]
	p.mu.Unlock()
	for _, l := range ls {
		l.fn(args)
	}
}
