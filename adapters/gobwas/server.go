package gobwas

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	jstp "github.com/jstp-go/jstp/core"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close. It is http.ErrServerClosed, as with the other WebSocket adapters.
var ErrServerClosed = http.ErrServerClosed

// ServerConfig holds the WebSocket side of a Server. The zero value (or a
// nil *ServerConfig) serves plain ws:// with the epoll poller.
type ServerConfig struct {
	// Upgrader carries the library's own handshake settings, passed
	// through: ReadBufferSize, WriteBufferSize, Header, OnRequest, OnHost,
	// OnHeader and OnBeforeUpgrade are honoured (the adapter's checks run
	// first). Protocol, ProtocolCustom and the extension fields are
	// replaced: the server accepts only the metarhia-jstp subprotocol and
	// negotiates no extension.
	Upgrader ws.Upgrader

	// CheckOrigin decides whether to accept an upgrade from the given value
	// of the Origin header ("" when absent). Nil accepts every origin, as
	// the reference does by default. A refused upgrade gets 403.
	CheckOrigin func(origin string) bool

	// TLSConfig, when set, makes Serve and ListenAndServe speak wss://.
	// TLS connections are read by a goroutine each, not by the poller.
	TLSConfig *tls.Config

	// UpgradeTimeout bounds the TLS handshake and the HTTP upgrade of an
	// accepted connection. Zero: the engine's HandshakeTimeout when set,
	// else DefaultUpgradeTimeout.
	UpgradeTimeout time.Duration

	// Workers is the number of poller workers. Zero: max(2, GOMAXPROCS).
	Workers int

	// NoPoll turns the epoll poller off: every connection is then read by a
	// goroutine of its own, as on systems without epoll.
	NoPoll bool
}

// engine is what Server needs from a jstp.Server (a fake in tests).
type engine interface {
	Serve(t jstp.Transport)
	Shutdown(ctx context.Context) error
	Close() error
}

// Server serves JSTP over WebSocket connections upgraded with
// github.com/gobwas/ws. Make one with NewServer or NewServerFor; serve it
// with Serve, ListenAndServe, ListenAndServeTLS or as an http.Handler.
// Its methods are safe for concurrent use.
type Server struct {
	eng     engine
	owned   bool // Shutdown and Close also stop eng
	cfg     ServerConfig
	timeout time.Duration

	mu         sync.Mutex
	closed     bool
	listeners  map[net.Listener]struct{}
	handshakes map[net.Conn]struct{}
	transports map[*Transport]struct{}
	poll       *poller
	pollTried  bool
	done       chan struct{} // closed by Shutdown and Close

	wg      sync.WaitGroup // handshakes, transports and their goroutines
	serveWG sync.WaitGroup // running Serve loops
}

func newServer(eng engine, owned bool, cfg *ServerConfig, engineTimeout time.Duration) *Server {
	s := &Server{
		eng:        eng,
		owned:      owned,
		listeners:  make(map[net.Listener]struct{}),
		handshakes: make(map[net.Conn]struct{}),
		transports: make(map[*Transport]struct{}),
		done:       make(chan struct{}),
	}
	if cfg != nil {
		s.cfg = *cfg
	}
	s.timeout = s.cfg.UpgradeTimeout
	if s.timeout <= 0 {
		s.timeout = engineTimeout
	}
	if s.timeout <= 0 {
		s.timeout = DefaultUpgradeTimeout
	}
	return s
}

// track runs f on a goroutine Shutdown waits for; false once closed.
func (s *Server) track(f func()) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// Serve accepts connections on l and serves each on its own, until
// Shutdown or Close; it then returns ErrServerClosed. With
// ServerConfig.TLSConfig set, l is wrapped in TLS.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.TLSConfig != nil {
		l = tls.NewListener(l, s.cfg.TLSConfig)
	}
	return s.serve(l)
}

func (s *Server) serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.serveWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		s.serveWG.Done()
	}()

	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			if !temporary(err) {
				return err
			}
			// Out of descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			tm := time.NewTimer(delay)
			select {
			case <-tm.C:
			case <-s.done:
				tm.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		if !s.track(func() { s.handshake(nc) }) {
			nc.Close()
		}
	}
}

func temporary(err error) bool {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ListenAndServe listens on the TCP address addr and serves it like Serve
// (wss:// when ServerConfig.TLSConfig is set).
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS is ListenAndServe over TLS with the certificate and key
// in the given PEM files, added to a clone of ServerConfig.TLSConfig.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	var conf *tls.Config
	if s.cfg.TLSConfig != nil {
		conf = s.cfg.TLSConfig.Clone()
	} else {
		conf = &tls.Config{}
	}
	conf.Certificates = append(conf.Certificates, cert)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.serve(tls.NewListener(l, conf))
}

// Addr returns the address of a listener being served, nil if none.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		return l.Addr()
	}
	return nil
}

var (
	errRejectProtocol = ws.RejectConnectionError(
		ws.RejectionStatus(http.StatusForbidden),
		ws.RejectionReason("subprotocol "+Subprotocol+" required"),
	)
	errRejectOrigin = ws.RejectConnectionError(
		ws.RejectionStatus(http.StatusForbidden),
		ws.RejectionReason("origin not allowed"),
	)
	errHandshakeTooLong = errors.New("gobwas: upgrade request too long")
)

// The reference answers 400 to any request that is not a WebSocket
// upgrade; the library answers 405 or 505 to some of them.
const response400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

// handshakeConn records what the upgrade reads, to recover bytes the client
// sent after its request, and holds what the upgrade writes, so that the
// response can still be replaced.
type handshakeConn struct {
	net.Conn
	in  []byte
	out []byte
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in = append(c.in, p[:n]...)
	if len(c.in) > maxHandshakeBytes {
		return n, errHandshakeTooLong
	}
	return n, err
}

func (c *handshakeConn) Write(p []byte) (int, error) {
	c.out = append(c.out, p...)
	return len(p), nil
}

// rest returns the bytes read past the end of the request headers.
func (c *handshakeConn) rest() []byte {
	end := bytes.Index(c.in, []byte("\r\n\r\n"))
	skip := 4
	if end < 0 {
		end, skip = bytes.Index(c.in, []byte("\n\n")), 2
	}
	if end < 0 || end+skip >= len(c.in) {
		return nil
	}
	return bytes.Clone(c.in[end+skip:])
}

// handshake upgrades an accepted connection and hands it to the engine.
func (s *Server) handshake(nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.handshakes[nc] = struct{}{}
	s.mu.Unlock()
	ok := false
	defer func() {
		s.mu.Lock()
		delete(s.handshakes, nc)
		s.mu.Unlock()
		if !ok {
			nc.Close()
		}
	}()

	_ = nc.SetDeadline(time.Now().Add(s.timeout))
	hc := &handshakeConn{Conn: nc}
	_, err := s.upgrader().Upgrade(hc)
	if err != nil {
		if errors.Is(err, ws.ErrHandshakeBadMethod) || errors.Is(err, ws.ErrHandshakeBadProtocol) {
			hc.out = []byte(response400)
		}
		if len(hc.out) > 0 {
			_, _ = nc.Write(hc.out)
		}
		return
	}
	if _, err := nc.Write(hc.out); err != nil {
		return
	}
	_ = nc.SetDeadline(time.Time{})
	ok = s.adopt(nc, hc.rest())
}

// upgrader returns the Upgrader for one handshake: the user's settings with
// the adapter's subprotocol and origin checks.
func (s *Server) upgrader() ws.Upgrader {
	u := s.cfg.Upgrader
	var proto bool
	var origin string
	u.ProtocolCustom = nil
	u.Protocol = func(p []byte) bool {
		if string(p) == Subprotocol {
			proto = true
			return true
		}
		return false
	}
	u.Extension, u.ExtensionCustom, u.Negotiate = nil, nil, nil
	onHeader := u.OnHeader
	u.OnHeader = func(k, v []byte) error {
		if strings.EqualFold(string(k), "Origin") {
			origin = string(v)
		}
		if onHeader != nil {
			return onHeader(k, v)
		}
		return nil
	}
	before := u.OnBeforeUpgrade
	check := s.cfg.CheckOrigin
	u.OnBeforeUpgrade = func() (ws.HandshakeHeader, error) {
		if !proto {
			return nil, errRejectProtocol
		}
		if check != nil && !check(origin) {
			return nil, errRejectOrigin
		}
		if before != nil {
			return before()
		}
		return nil, nil
	}
	return u
}

// ServeHTTP upgrades a WebSocket request made to a net/http server and
// serves the connection. Any other request gets 400; a request without the
// metarhia-jstp subprotocol, or from an origin CheckOrigin refuses, gets
// 403. Over plain HTTP/1.1 on Linux the hijacked connection is read by the
// poller, as with Serve.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !headerHasToken(r.Header, "Sec-WebSocket-Protocol", Subprotocol) {
		http.Error(w, "subprotocol "+Subprotocol+" required", http.StatusForbidden)
		return
	}
	if s.cfg.CheckOrigin != nil && !s.cfg.CheckOrigin(r.Header.Get("Origin")) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	select {
	case <-s.done:
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	u := ws.HTTPUpgrader{
		Timeout:  s.timeout,
		Protocol: func(p string) bool { return p == Subprotocol },
	}
	nc, rw, _, err := u.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		return
	}
	var rest []byte
	if rw != nil && rw.Reader.Buffered() > 0 {
		b, _ := rw.Reader.Peek(rw.Reader.Buffered())
		rest = bytes.Clone(b)
	}
	_ = nc.SetDeadline(time.Time{})
	if !s.adopt(nc, rest) {
		nc.Close()
	}
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// adopt wraps an upgraded connection in a Transport and gives it to the
// engine. It reports false when the server is closed.
func (s *Server) adopt(nc net.Conn, rest []byte) bool {
	t := newTransport(nc, false, rest)
	t.srv = s
	s.mu.Lock()
	p := s.pollerLocked()
	s.mu.Unlock()
	if p != nil {
		p.attach(t)
	}
	// Publish t only once it is fully set up: Shutdown may close it as soon
	// as it is in transports.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if t.poll != nil {
			t.poll.remove(t)
		}
		return false
	}
	s.transports[t] = struct{}{}
	s.wg.Add(1) // released by forget when the socket is closed
	s.mu.Unlock()
	s.eng.Serve(t)
	return true
}

// spawn runs f on a goroutine Shutdown waits for. It is used only by a live
// transport, whose own count is held until it finishes, so this Add never
// races Shutdown's Wait from zero.
func (s *Server) spawn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// forget drops a transport whose socket is closed.
func (s *Server) forget(t *Transport) {
	s.mu.Lock()
	delete(s.transports, t)
	s.mu.Unlock()
	s.wg.Done()
}

// pollerLocked returns the server's poller, starting it on first use; nil
// when connections are read by goroutines.
func (s *Server) pollerLocked() *poller {
	if s.cfg.NoPoll || s.cfg.TLSConfig != nil || !pollSupported {
		return nil
	}
	if !s.pollTried {
		s.pollTried = true
		p, err := newPoller(s.cfg.Workers)
		if err == nil {
			s.poll = p
		}
	}
	return s.poll
}

// stopAccepting marks the server closed and closes its listeners and the
// connections still in their upgrade. It returns the transports left.
func (s *Server) stopAccepting() []*Transport {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	for l := range s.listeners {
		l.Close()
	}
	for nc := range s.handshakes {
		nc.Close()
	}
	s.mu.Unlock()
	return s.live()
}

func (s *Server) live() []*Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := make([]*Transport, 0, len(s.transports))
	for t := range s.transports {
		ts = append(ts, t)
	}
	return ts
}

// wait waits for every connection and goroutine of the server to end, or
// for ctx; then it stops the poller.
func (s *Server) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		s.serveWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, t := range s.live() {
			t.Break()
		}
		<-done
	}
	s.mu.Lock()
	p := s.poll
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
	return err
}

// Shutdown stops the server gracefully: it stops accepting, shuts the
// engine down (when the Server owns it, see NewServer), closes every
// connection with a close frame, and waits for them and for every goroutine
// of the server to end. When ctx ends first, the remaining connections are
// severed, and ctx's error is returned. Serve then returns ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	var err error
	if s.owned {
		err = s.eng.Shutdown(ctx)
	}
	for _, t := range s.live() {
		t.Close()
	}
	if werr := s.wait(ctx); err == nil {
		err = werr
	}
	return err
}

// Close stops the server at once: it stops accepting, closes the engine
// (when owned) and severs every connection without a closing handshake,
// then waits for the server's goroutines to end.
func (s *Server) Close() error {
	s.stopAccepting()
	var err error
	if s.owned {
		err = s.eng.Close()
	}
	for _, t := range s.live() {
		t.Break()
	}
	_ = s.wait(context.Background())
	return err
}
