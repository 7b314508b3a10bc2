package nhooyr

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/coder/websocket"
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

	// OnPingReceived and OnPongReceived are passed to the library (see
	// websocket.AcceptOptions); nil: it answers pings itself.
	OnPingReceived func(ctx context.Context, payload []byte) bool
	OnPongReceived func(ctx context.Context, payload []byte)

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
	opts  websocket.AcceptOptions

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
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, netConnKey{}, c)
		},
	}
	if owned {
		opts.Engine = eng
	}
	s.hs = httpserve.New[*transport](s, opts)
	s.opts = websocket.AcceptOptions{
		Subprotocols: []string{Subprotocol},
		// The origin was checked before Accept is called.
		InsecureSkipVerify: true,
		// Off: the reference does not compress, and a compressed message is
		// sent as a single frame, which could exceed MaxFrameSize.
		CompressionMode: websocket.CompressionDisabled,
		OnPingReceived:  s.cfg.OnPingReceived,
		OnPongReceived:  s.cfg.OnPongReceived,
	}
	return s
}

// netConnKey keys the request context value holding the connection, set by
// the HTTP servers the Server runs itself.
type netConnKey struct{}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether the comma-separated header name contains
// token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// remoteAddr finds the address of the peer that sent r: that of the
// connection when known, otherwise r.RemoteAddr parsed.
func remoteAddr(r *http.Request, conn net.Conn) net.Addr {
	if conn != nil {
		return conn.RemoteAddr()
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return peerAddr(r.RemoteAddr)
}

// peerAddr describes a peer whose address is not host:port (say, a Unix
// socket client).
type peerAddr string

func (peerAddr) Network() string  { return "websocket" }
func (a peerAddr) String() string { return string(a) }

// ServeHTTP upgrades a WebSocket request offering the metarhia-jstp
// subprotocol and serves JSTP over it. A request that is not a WebSocket
// upgrade gets 400 Bad Request, one not offering the subprotocol or
// coming from a rejected origin 403 Forbidden (as the reference does), and
// any request after Shutdown 503 Service Unavailable.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case !isUpgrade(r):
		http.Error(w, "Bad Request: this is a JSTP WebSocket endpoint", http.StatusBadRequest)
		return
	case !headerHasToken(r.Header, "Sec-WebSocket-Protocol", Subprotocol):
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

	// The library writes frames through the bufio.Writer that Hijack
	// returns, and reads through its Reader: hc hands it a cork.Conn with
	// that Writer pointed at it, for SendBatch.
	// The library keeps the hijacked bufio.Writer for good; a 1 KiB one
	// instead of the server's 4 KiB saves idle connections 3 KiB each (a
	// larger frame goes past it to the Conn, which buffers batches).
	hc := &cork.HijackCorker{ResponseWriter: w, WriteHeaderNow: true, WriteBufferSize: 1 << 10}
	c, err := websocket.Accept(hc, r, &s.opts) // on failure it has replied
	if err != nil {
		s.hs.Abandon()
		return
	}
	conn, _ := r.Context().Value(netConnKey{}).(net.Conn)
	var t *transport
	t = newTransport(c, hc.Conn, hc.Conn, remoteAddr(r, conn), func() { s.hs.Forget(t) })
	// The library reads through the hijacked Reader, which it points at
	// the connection Hijack returned: hc.Conn.
	t.readsBatches = hc.Conn != nil
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
