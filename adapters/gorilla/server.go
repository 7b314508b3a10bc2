package gorilla

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	"github.com/jstp-go/jstp/adapters/internal/httpserve"
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

	// hs runs the Server's own HTTP servers and tracks the live
	// transports, for Shutdown and Close.
	hs *httpserve.Servers[*transport]
}

func newServer(eng engine, owned bool, cfg *ServerConfig) *Server {
	s := &Server{eng: eng, owned: owned}
	if cfg != nil {
		s.cfg = *cfg
	}
	opts := httpserve.Options{
		TLSConfig:         s.cfg.TLSConfig,
		ErrorLog:          s.cfg.ErrorLog,
		ReadHeaderTimeout: readHeaderTimeout,
	}
	if owned {
		opts.Engine = eng
	}
	s.hs = httpserve.New[*transport](s, opts)
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
// coming from a rejected origin 403 Forbidden (as the reference does), and
// any request after Shutdown 503 Service Unavailable.
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

	if !s.hs.Admit() {
		http.Error(w, "Service Unavailable: shutting down", http.StatusServiceUnavailable)
		return
	}

	// gorilla writes the handshake response and every frame to the
	// connection Hijack returns (reusing only the memory of the hijacked
	// bufio.Writer): hc makes that a cork.Conn, for SendBatch.
	hc := &cork.HijackCorker{ResponseWriter: w}
	ws, err := s.up.Upgrade(hc, r, nil) // on failure gorilla has replied
	if err != nil {
		s.hs.Abandon()
		return
	}
	var t *transport
	t = newTransport(ws, hc.Conn, func() { s.hs.Forget(t) })
	if !s.hs.Track(t) {
		t.Close()
		return
	}
	s.eng.Serve(t)
}

// Serve accepts connections on l and serves JSTP over WebSocket on them,
// over TLS when ServerConfig.TLSConfig is set. It blocks until Shutdown or
// Close and then returns http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error { return s.hs.Serve(l) }

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error { return s.hs.ListenAndServe(addr) }

// ListenAndServeTLS listens on the TCP address addr and serves wss:// with
// the certificate and key in the given PEM files, on top of
// ServerConfig.TLSConfig if set.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	return s.hs.ListenAndServeTLS(addr, certFile, keyFile)
}

// Addr returns the address of the first listener the Server serves on, or
// nil before Serve has started.
func (s *Server) Addr() net.Addr { return s.hs.Addr() }

// Shutdown shuts the server down gracefully: it stops accepting, closes
// every connection with a closing handshake and waits until they are all
// gone, leaving no goroutine behind. A Server made by NewServer also shuts
// down its jstp.Server; one made by Wrap leaves it running (only
// the connections over this Server end). When ctx ends first, the remaining
// connections are cut and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error { return s.hs.Shutdown(ctx) }

// Close closes the server at once: listeners and connections are cut
// without closing handshakes. It waits for the connections' goroutines to
// end.
func (s *Server) Close() error { return s.hs.Close() }
