package gorilla

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	jstp "github.com/jstp-go/jstp/core"
)

// ServerConfig holds the WebSocket side of a Server's settings; the JSTP
// side is jstp.ServerOptions. The zero value (or nil) is ready to use.
type ServerConfig struct {
	// CheckOrigin reports whether to accept an upgrade request, usually by
	// looking at its Origin header. A rejected request gets 403 Forbidden.
	// nil accepts every origin, like the reference server.
	CheckOrigin func(r *http.Request) bool

	// TLSConfig, when set, makes Serve and ListenAndServe speak TLS (wss://).
	// It must carry a certificate (Certificates or GetCertificate) unless
	// ListenAndServeTLS supplies one from files.
	TLSConfig *tls.Config

	// HandshakeTimeout bounds writing the upgrade response. 0: no limit
	// beyond the HTTP server's own.
	HandshakeTimeout time.Duration

	// ReadBufferSize and WriteBufferSize are gorilla's I/O buffer sizes in
	// bytes; 0 reuses the HTTP server's buffers (gorilla's default). A
	// WriteBufferSize over MaxFrameSize is lowered to it, since gorilla sends
	// a frame per full write buffer.
	ReadBufferSize, WriteBufferSize int

	// ErrorLog receives the HTTP server's errors (failed TLS handshakes and
	// the like). nil: the log package's standard logger.
	ErrorLog *log.Logger
}

// engine is what a Server needs of a jstp.Server.
type engine interface {
	Serve(t jstp.Transport)
	Shutdown(ctx context.Context) error
	Close() error
}

// Server serves JSTP over WebSocket. It is an http.Handler, so it can be
// mounted on any HTTP server or mux, and it also runs HTTP servers of its
// own with Serve, ListenAndServe and ListenAndServeTLS.
type Server struct {
	eng   engine
	owned bool // the jstp.Server was made by NewServer and ends with it
	cfg   ServerConfig
	up    websocket.Upgrader

	mu      sync.Mutex
	closed  bool
	servers []*http.Server
	addr    net.Addr
	conns   map[*transport]struct{}
	wg      sync.WaitGroup // one per live transport
}

func newServer(eng engine, owned bool, cfg *ServerConfig) *Server {
	s := &Server{eng: eng, owned: owned, conns: make(map[*transport]struct{})}
	if cfg != nil {
		s.cfg = *cfg
	}
	s.up = websocket.Upgrader{
		HandshakeTimeout: s.cfg.HandshakeTimeout,
		ReadBufferSize:   s.cfg.ReadBufferSize,
		WriteBufferSize:  clampWriteBuffer(s.cfg.WriteBufferSize),
		Subprotocols:     []string{Subprotocol},
		// The origin was checked before Upgrade is called.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s
}

// clampWriteBuffer keeps gorilla's write buffer, and so every frame it
// fills, within MaxFrameSize.
func clampWriteBuffer(n int) int {
	return min(n, MaxFrameSize)
}

// ServeHTTP upgrades a WebSocket request offering the metarhia-jstp
// subprotocol and serves JSTP over it. A request that is not a WebSocket
// upgrade gets 400 Bad Request, one not offering the subprotocol or
// coming from a rejected origin 403 Forbidden (as the reference),, and any request after
// Shutdown 503 Service Unavailable.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case !websocket.IsWebSocketUpgrade(r):
		http.Error(w, "Bad Request: this is a JSTP WebSocket endpoint", http.StatusBadRequest)
		return
	case !slices.ContainsFunc(websocket.Subprotocols(r), func(p string) bool {
		return strings.EqualFold(p, Subprotocol)
	}):
		http.Error(w, "Forbidden: the "+Subprotocol+" subprotocol is required", http.StatusForbidden) // the reference rejects with 403
		return
	case s.cfg.CheckOrigin != nil && !s.cfg.CheckOrigin(r):
		http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "Service Unavailable: shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()

	// gorilla writes the handshake response and every frame to the
	// connection Hijack returns (reusing only the memory of the hijacked
	// bufio.Writer): hc makes that a cork.Conn, for SendBatch.
	hc := &cork.HijackCorker{ResponseWriter: w}
	ws, err := s.up.Upgrade(hc, r, nil) // on failure gorilla has replied
	if err != nil {
		s.wg.Done()
		return
	}
	var t *transport
	t = newTransport(ws, hc.Conn, func() {
		s.mu.Lock()
		delete(s.conns, t)
		s.mu.Unlock()
		s.wg.Done()
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.Close()
		return
	}
	s.conns[t] = struct{}{}
	s.mu.Unlock()
	s.eng.Serve(t)
}

// Serve accepts connections on l and serves JSTP over WebSocket on them,
// over TLS when ServerConfig.TLSConfig is set. It blocks until Shutdown or
// Close and then returns http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.TLSConfig != nil {
		return s.serve(l, true, "", "")
	}
	return s.serve(l, false, "", "")
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on the TCP address addr and serves wss:// with
// the certificate and key in the given PEM files, on top of
// ServerConfig.TLSConfig if set.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.serve(l, true, certFile, keyFile)
}

func (s *Server) serve(l net.Listener, useTLS bool, certFile, keyFile string) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		TLSConfig:         s.cfg.TLSConfig,
		ErrorLog:          s.cfg.ErrorLog,
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

// Addr returns the address of the first listener the Server serves on, or
// nil before Serve has started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown shuts the server down gracefully: it stops accepting, closes
// every connection with a closing handshake and waits until they are all
// gone, leaving no goroutine behind. A Server made by NewServer also shuts
// down its jstp.Server; one made by Wrap leaves it running (only
// the connections over this Server end). When ctx ends first, the remaining
// connections are cut and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.mu.Unlock()

	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
			errs = append(errs, err)
		}
	}
	if s.owned {
		if err := s.eng.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range s.transports() {
		t.Close()
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, t := range s.transports() {
			t.cut()
		}
		<-done
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// Close closes the server at once: listeners and connections are cut
// without closing handshakes. It waits for the connections' goroutines to
// end.
func (s *Server) Close() error {
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
	if s.owned {
		if err := s.eng.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range s.transports() {
		t.cut()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) transports() []*transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := make([]*transport, 0, len(s.conns))
	for t := range s.conns {
		ts = append(ts, t)
	}
	return ts
}
