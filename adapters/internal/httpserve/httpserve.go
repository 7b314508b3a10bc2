// Package httpserve is the part of a WebSocket adapter's Server that does
// not depend on the WebSocket library: running net/http servers of its own
// (plain or TLS, HTTP/1.1 only) and tracking the live connections, so that
// Shutdown can close them gracefully and Close can cut them. The gorilla
// and nhooyr adapters share it.
//
// The package is internal to the adapters and not a public API.
package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Conn is a live connection as Servers tracks it.
type Conn interface {
	comparable
	// Close closes the connection with a closing handshake.
	Close() error
	// Cut severs the connection at once, without a closing handshake.
	Cut()
}

// Engine is what Servers needs of a jstp.Server it owns.
type Engine interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// Options configure Servers.
type Options struct {
	// TLSConfig, when set, makes Serve speak TLS; see http.Server.
	TLSConfig *tls.Config
	// ErrorLog is the http.Server's ErrorLog.
	ErrorLog *log.Logger
	// ReadHeaderTimeout is the http.Server's ReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ConnContext, if set, is the http.Server's ConnContext.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// Engine, if set, is shut down by Shutdown and closed by Close, after
	// the HTTP servers: the adapter passes its jstp.Server when it owns it.
	Engine Engine
}

// Servers runs the HTTP servers of one adapter Server, all with the same
// handler, and tracks the connections that handler serves.
//
// The handler brackets each upgrade: Admit before it (false: refuse the
// request, the Servers are shutting down), then either Abandon (the
// upgrade failed) or Track with the new connection (false: close it, the
// Servers shut down meanwhile). The connection calls Forget once it has
// finished, whether it was tracked or not.
type Servers[T Conn] struct {
	handler http.Handler
	opts    Options

	mu      sync.Mutex
	closed  bool
	servers []*http.Server
	addr    net.Addr
	conns   map[T]struct{}
	wg      sync.WaitGroup // one per admitted connection not yet forgotten

	shutdownBegan func() // tests: called once Shutdown has marked the Servers closed
}

// New returns Servers serving handler, configured by opts.
func New[T Conn](handler http.Handler, opts Options) *Servers[T] {
	return &Servers[T]{handler: handler, opts: opts, conns: make(map[T]struct{})}
}

// Admit reports whether a new connection may be accepted, and if so
// counts it as live until Abandon or Forget.
func (s *Servers[T]) Admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Abandon uncounts an admitted connection that never came to be.
func (s *Servers[T]) Abandon() { s.wg.Done() }

// Track records c, admitted before, for Shutdown and Close. It reports
// false, recording nothing, if they have begun meanwhile: the caller then
// closes c (which still calls Forget when it ends).
func (s *Servers[T]) Track(c T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// Forget drops c, an admitted connection that has ended, and uncounts it.
func (s *Servers[T]) Forget(c T) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Serve serves on l, over TLS when Options.TLSConfig is set, until
// Shutdown or Close, and then returns http.ErrServerClosed.
func (s *Servers[T]) Serve(l net.Listener) error {
	return s.serve(l, s.opts.TLSConfig != nil, "", "")
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Servers[T]) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on the TCP address addr and serves TLS with the
// certificate and key in the given PEM files, on top of Options.TLSConfig
// if set.
func (s *Servers[T]) ListenAndServeTLS(addr, certFile, keyFile string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.serve(l, true, certFile, keyFile)
}

func (s *Servers[T]) serve(l net.Listener, useTLS bool, certFile, keyFile string) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		TLSConfig:         s.opts.TLSConfig,
		ErrorLog:          s.opts.ErrorLog,
		ConnContext:       s.opts.ConnContext,
	}
	// HTTP/1.1 only: WebSocket upgrades need it, and a browser must not be
	// talked into HTTP/2 on a wss:// endpoint.
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, hs)
	if s.addr == nil {
		s.addr = l.Addr()
	}
	s.mu.Unlock()
	if useTLS {
		return hs.ServeTLS(l, certFile, keyFile)
	}
	return hs.Serve(l)
}

// Addr returns the address of the first listener served on, or nil before
// Serve has started.
func (s *Servers[T]) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting, shuts the HTTP servers down (closing any that
// do not finish in time), shuts down the Engine if set, closes every
// connection and waits until all admitted ones are forgotten. When ctx
// ends first, the remaining connections are cut, waited for, and ctx's
// error is returned with any other.
func (s *Servers[T]) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	began := s.shutdownBegan
	s.mu.Unlock()
	if began != nil {
		began()
	}

	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
			errs = append(errs, err)
		}
	}
	if s.opts.Engine != nil {
		if err := s.opts.Engine.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range s.live() {
		c.Close()
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range s.live() {
			c.Cut()
		}
		<-done
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// Close stops at once: the HTTP servers are closed, the Engine if set,
// and every connection is cut. It waits until all admitted connections
// are forgotten.
func (s *Servers[T]) Close() error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.mu.Unlock()

	var errs []error
	for _, hs := range servers {
		if err := hs.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.opts.Engine != nil {
		if err := s.opts.Engine.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range s.live() {
		c.Cut()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// live returns the tracked connections.
func (s *Servers[T]) live() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]T, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}
