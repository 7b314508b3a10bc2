package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// ErrServerClosed is returned by Serve, ListenAndServe and
// ListenAndServeTLS once Shutdown or Close has been called.
var ErrServerClosed = errors.New("tcp: server closed")

// ServerConfig holds the socket server's own settings. A nil *ServerConfig
// means the defaults.
type ServerConfig struct {
	// TLSConfig, when non-nil, makes every listener the server serves a TLS
	// one (the reference's tls.createServer): it must hold a certificate
	// (Certificates or GetCertificate). ListenAndServeTLS adds its
	// certificate files to a copy of it.
	TLSConfig *tls.Config

	// Logger receives accept errors. nil: the jstp server's Logger when
	// NewServer builds it, otherwise no logging.
	Logger *slog.Logger
}

// Server serves a jstp.Server over TCP, TLS and Unix sockets, with NUL
// framing: the reference's net.createServer and tls.createServer. One
// Server may serve any number of listeners at once. Its methods are safe
// for concurrent use.
type Server struct {
	jstp      *jstp.Server
	owned     bool // Shutdown and Close also stop s.jstp
	tlsConfig *tls.Config
	logger    *slog.Logger
	hooks     hooks

	mu        sync.Mutex
	closed    bool
	done      chan struct{} // closed when closed becomes true
	listeners map[net.Listener]struct{}
	conns     map[*transport]struct{}
	running   int           // serve loops and reader goroutines
	idle      chan struct{} // closed when running drops to 0
}

// NewServer builds a jstp.Server from opts and a socket server around it
// with cfg's settings (cfg may be nil). Serve it with Serve,
// ListenAndServe or ListenAndServeTLS; Shutdown stops both.
func NewServer(opts jstp.ServerOptions, cfg *ServerConfig) (*Server, error) {
	srv, err := jstp.NewServer(opts)
	if err != nil {
		return nil, err
	}
	s := Wrap(srv, cfg)
	s.owned = true
	if s.logger == nil {
		s.logger = opts.Logger
	}
	return s, nil
}

// Wrap returns a socket server for an existing jstp.Server, for example
// one that a WebSocket adapter serves too. Shutdown and Close of the
// returned Server stop its listeners and close the connections it
// accepted, but leave srv running: shut srv down separately.
func Wrap(srv *jstp.Server, cfg *ServerConfig) *Server {
	if cfg == nil {
		cfg = &ServerConfig{}
	}
	s := &Server{
		jstp:      srv,
		tlsConfig: cfg.TLSConfig,
		logger:    cfg.Logger,
		done:      make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*transport]struct{}),
	}
	s.hooks = hooks{started: s.transportStarted, exited: s.transportExited}
	return s
}

// JSTP returns the jstp.Server, to broadcast, list clients or update
// applications.
func (s *Server) JSTP() *jstp.Server { return s.jstp }

// Addr returns the address of a listener being served (the first one
// still open, in no particular order when there are several), or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		return l.Addr()
	}
	return nil
}

// ListenAndServe listens on network ("tcp", "tcp4", "tcp6" or "unix") at
// addr and serves it until Shutdown or Close, then returns
// ErrServerClosed. A Unix socket file is removed when the listener closes
// (a stale one left by a crashed process must be removed beforehand).
// With ServerConfig.TLSConfig set, the listener is a TLS one.
func (s *Server) ListenAndServe(network, addr string) error {
	if s.isClosed() {
		return ErrServerClosed
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return s.serve(l, s.tlsConfig)
}

// ListenAndServeTLS listens on TCP at addr and serves TLS with the
// certificate and key in the PEM files certFile and keyFile, added to a
// copy of ServerConfig.TLSConfig. The files may be empty strings when
// ServerConfig.TLSConfig already has a certificate.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	if s.isClosed() {
		return ErrServerClosed
	}
	var cfg *tls.Config
	if s.tlsConfig != nil {
		cfg = s.tlsConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.serve(l, cfg)
}

// Serve accepts connections on l and serves each as a JSTP transport until
// Shutdown or Close, then returns ErrServerClosed; it closes l. With
// ServerConfig.TLSConfig set, each connection is wrapped in TLS (l must
// then be a plain listener).
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, s.tlsConfig)
}

func (s *Server) serve(l net.Listener, tlsConfig *tls.Config) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.running++
	s.mu.Unlock()
	defer func() {
		l.Close()
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		s.goroutineDone()
	}()

	var delay time.Duration // back-off after a temporary accept error
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			if s.logger != nil {
				s.logger.Warn("tcp: accept error; retrying", "err", err, "delay", delay)
			}
			// Wait, unless Shutdown comes first.
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-s.done:
				timer.Stop()
			}
			continue
		}
		delay = 0
		if tlsConfig != nil {
			c = tls.Server(c, tlsConfig)
		}
		s.serveConn(c)
	}
}

// isTemporary reports an accept error worth retrying, such as running
// out of file descriptors.
func isTemporary(err error) bool {
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}

func (s *Server) serveConn(c net.Conn) {
	t := newTransport(c, &s.hooks)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[t] = struct{}{}
	s.mu.Unlock()
	s.jstp.Serve(t)
}

func (s *Server) transportStarted(*transport) {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
}

func (s *Server) transportExited(t *transport, reader bool) {
	s.mu.Lock()
	delete(s.conns, t)
	s.mu.Unlock()
	if reader {
		s.goroutineDone()
	}
}

func (s *Server) goroutineDone() {
	s.mu.Lock()
	s.running--
	if s.running == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

// waitIdle waits until no serve loop or reader goroutine runs.
func (s *Server) waitIdle(ctx context.Context) error {
	s.mu.Lock()
	if s.running == 0 {
		s.mu.Unlock()
		return nil
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// stop marks the server closed and closes its listeners; it returns the
// connections open at that moment.
func (s *Server) stop() []*transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*transport, 0, len(s.conns))
	for t := range s.conns {
		conns = append(conns, t)
	}
	return conns
}

// Shutdown stops the server gracefully: it stops accepting, shuts the
// jstp.Server down (when NewServer built it), closes every connection
// cleanly, and waits until every connection is closed and every goroutine
// of the server has ended. If ctx ends first, the remaining connections
// are closed at once, Shutdown still waits for their goroutines (which end
// promptly), and returns ctx's error. Serve calls return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	var err error
	if s.owned {
		err = s.jstp.Shutdown(ctx)
	}
	// Whatever the engine has not closed (connections still in their
	// handshake, or all of them for a wrapped server) is closed here.
	for _, t := range s.stop() {
		t.Close()
	}
	if werr := s.waitIdle(ctx); werr != nil {
		if err == nil {
			err = werr
		}
		s.forceClose()
	}
	return err
}

// Close closes the server at once: listeners, the jstp.Server (when
// NewServer built it) and every connection, without waiting for the peers.
// It returns when every goroutine of the server has ended.
func (s *Server) Close() error {
	s.stop()
	var err error
	if s.owned {
		err = s.jstp.Close()
	}
	s.forceClose()
	return err
}

// forceClose closes every remaining socket and waits for the goroutines,
// which end as soon as their sockets are closed.
func (s *Server) forceClose() {
	for _, t := range s.stop() {
		t.abort(nil)
	}
	s.waitIdle(context.Background())
}
