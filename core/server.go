package jstp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jstp-go/jstp/core/mdsf"
)

// Server defaults, from the reference implementation.
const (
	// DefaultClientExpiration is how long a server keeps the session of a
	// closed connection in memory, ready to be resumed, before leaving it to
	// the session storage provider alone.
	DefaultClientExpiration = time.Hour
	// DefaultHandshakeTimeout is how long a server waits for a new
	// connection's handshake before closing it.
	DefaultHandshakeTimeout = 3 * time.Second
	// storageTimeout bounds each call the server makes to a session storage
	// provider.
	storageTimeout = 10 * time.Second
)

// AuthPolicy decides who a client is. The server calls Authenticate for
// every handshake that is neither anonymous nor a session resumption, with
// the strategy the client used (for example "login") and its credentials
// (for "login": user name and password). It returns the user name, or an
// error: a *RemoteError is sent as is, anything else as code 11.
type AuthPolicy interface {
	Authenticate(ctx context.Context, conn *Connection, app *Application, strategy string, credentials []any) (username string, err error)
}

// AuthFunc adapts a function to AuthPolicy.
type AuthFunc func(ctx context.Context, conn *Connection, app *Application, strategy string, credentials []any) (string, error)

// Authenticate calls f.
func (f AuthFunc) Authenticate(ctx context.Context, conn *Connection, app *Application, strategy string, credentials []any) (string, error) {
	return f(ctx, conn, app, strategy, credentials)
}

// ServerOptions configures a Server.
type ServerOptions struct {
	// Applications served; or give Apps.
	Applications []*Application
	// Apps is an index of applications, used when Applications is empty.
	Apps *AppsIndex
	// AuthPolicy authenticates non-anonymous handshakes; nil refuses them
	// all with code 11.
	AuthPolicy AuthPolicy
	// SessionStorage stores sessions of applications that have none of
	// their own; nil means an in-memory MemoryStorage with its defaults.
	SessionStorage SessionStorageProvider
	// HeartbeatInterval, when positive, makes the server ping every client
	// at that interval from its handshake on.
	HeartbeatInterval time.Duration
	// ClientExpiration is how long the session of a closed connection stays
	// in the server's memory; 0 means DefaultClientExpiration.
	ClientExpiration time.Duration
	// HandshakeTimeout: 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// OnConnect is called after a new session's handshake, OnReconnect after
	// a resumed one, OnDisconnect when a handshaken connection closes.
	OnConnect, OnReconnect, OnDisconnect func(*Connection)
	// Logger receives log events at debug level (errors at error level).
	Logger *slog.Logger
	// Hook receives every log event.
	Hook func(LogEvent)
}

// Server serves JSTP over any Transport handed to Serve. It holds the
// applications, authenticates clients, keeps their sessions and tracks the
// connected clients. All methods are safe for concurrent use.
type Server struct {
	opts       ServerOptions
	log        logger
	storage    SessionStorageProvider
	hsTimeout  time.Duration
	expiration time.Duration
	handlers   group
	workers    *workerPool

	baseCtx    context.Context
	baseCancel context.CancelFunc

	mu        sync.Mutex
	apps      *AppsIndex
	conns     map[*Connection]struct{} // every live connection
	clients   map[*Connection]struct{} // handshaken connections
	sessions  map[string]*sessionEntry
	lastSweep time.Time
	closed    bool
}

type sessionEntry struct {
	s        *Session
	app      *Application
	detached time.Time // zero while a connection is bound
}

// NewServer creates a server. It fails when the applications cannot be
// indexed (two with the same name and version).
func NewServer(opts ServerOptions) (*Server, error) {
	apps := opts.Apps
	if len(opts.Applications) > 0 || apps == nil {
		var err error
		if apps, err = NewAppsIndex(opts.Applications...); err != nil {
			return nil, err
		}
	}
	s := &Server{
		opts:       opts,
		log:        logger{hook: opts.Hook, slog: opts.Logger},
		storage:    opts.SessionStorage,
		hsTimeout:  opts.HandshakeTimeout,
		expiration: opts.ClientExpiration,
		apps:       apps,
		conns:      make(map[*Connection]struct{}),
		clients:    make(map[*Connection]struct{}),
		sessions:   make(map[string]*sessionEntry),
		lastSweep:  time.Now(),
		workers:    newWorkerPool(),
	}
	if s.storage == nil {
		s.storage = NewMemoryStorage(0, 0)
	}
	if s.hsTimeout <= 0 {
		s.hsTimeout = DefaultHandshakeTimeout
	}
	if s.expiration <= 0 {
		s.expiration = DefaultClientExpiration
	}
	s.baseCtx, s.baseCancel = context.WithCancel(context.Background())
	return s, nil
}

// Serve takes ownership of t and speaks JSTP over it: it waits for the
// client's handshake (closing t after the handshake timeout), then serves
// the application the client chose. It returns at once. After Shutdown it
// closes t.
func (s *Server) Serve(t Transport) {
	c := newConnection(s, nil, &s.log)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	ts := c.attach(t)
	timer := time.AfterFunc(s.hsTimeout, func() {
		c.mu.Lock()
		expired := c.tr == ts && c.hsState != hsDone
		c.mu.Unlock()
		if expired {
			s.log.emit(LogEvent{Kind: LogHandshakeTimeout, Conn: c, Err: ErrHandshakeTimeout})
			ts.end(nil)
		}
	})
	c.mu.Lock()
	if c.hsState == hsDone || c.finished {
		timer.Stop()
	} else {
		c.hsTimer = timer
	}
	c.mu.Unlock()
}

// Clients returns the connections that have completed a handshake and are
// still open.
func (s *Server) Clients() []*Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Connection, 0, len(s.clients))
	for c := range s.clients {
		out = append(out, c)
	}
	return out
}

// Broadcast emits event name of interface iface to every connected client.
// The arguments are encoded once.
func (s *Server) Broadcast(iface, name string, args ...any) error {
	payload, err := encodeArgs(nil, args)
	if err != nil {
		return fmt.Errorf("jstp: broadcast %s.%s: %w", iface, name, err)
	}
	for _, c := range s.Clients() {
		if sess := c.Session(); sess != nil {
			if now := sess.Connection(); now != nil && now != c {
				continue // a resumption moved the session; its new connection is listed too
			}
		}
		_ = c.emitPayload(iface, name, payload)
	}
	return nil
}

// Applications returns the index of served applications.
func (s *Server) Applications() *AppsIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps
}

// UpdateApplications replaces the served applications. Connected clients
// that asked for a version range (or for no version: the same major
// version) move to the newest application still in their range; clients
// that asked for an exact version keep theirs.
func (s *Server) UpdateApplications(apps ...*Application) error {
	idx, err := NewAppsIndex(apps...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.apps = idx
	clients := make([]*Connection, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		if c.app != nil && !isExactVersion(c.requestedVersion) {
			if app := idx.Lookup(c.app.name, c.requestedVersion); app != nil {
				c.app = app
			}
		}
		c.mu.Unlock()
	}
	return nil
}

// Shutdown stops serving gracefully: new transports are closed at once and
// new calls are answered with code 16; methods already running are given
// until ctx is done to finish and send their answers; then every
// connection is closed and Shutdown waits for the transports to report
// their close. If ctx ends first, running methods see their contexts
// cancelled and Shutdown returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.handlers.wait(ctx)
	s.mu.Lock()
	conns := make([]*Connection, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.baseCancel()
	var pending []*transportState
	for _, c := range conns {
		if ts := c.beginClose(); ts != nil {
			pending = append(pending, ts)
		}
	}
	for _, ts := range pending {
		select {
		case <-ts.closed:
		case <-ctx.Done():
		}
	}
	for _, c := range conns {
		c.finish(ErrServerClosed)
	}
	if err == nil {
		err = s.handlers.wait(ctx)
	}
	if err == nil {
		s.workers.close()
	} else {
		// Calls still run past the deadline: their workers exit when they
		// return.
		go s.workers.close()
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close shuts the server down without a deadline.
func (s *Server) Close() error { return s.Shutdown(context.Background()) }

// startCall runs an incoming call on the server's worker pool; it reports
// false once the server is shutting down.
func (s *Server) startCall(t callTask) bool {
	if !s.admit() {
		return false
	}
	s.workers.submit(t)
	return true
}

// admit counts an incoming call as a handler that Shutdown waits for
// (until handlers.done); it reports false once the server is shutting
// down.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.add()
	return true
}

// goHandler runs fn on a goroutine the server waits for in Shutdown.
func (s *Server) goHandler(fn func()) {
	s.handlers.add()
	go func() {
		defer s.handlers.done()
		fn()
	}()
}

func (s *Server) lookupApp(name, version string) *Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps.Lookup(name, version)
}

func (s *Server) storageFor(app *Application) SessionStorageProvider {
	if app != nil && app.SessionStorage != nil {
		return app.SessionStorage
	}
	return s.storage
}

// handshakeRequest starts handling a client's handshake; the rest runs on a
// goroutine, since authentication and session storage may block.
func (s *Server) handshakeRequest(c *Connection, ts *transportState, data []byte, obj mdsf.Object, head []any) {
	c.mu.Lock()
	if c.hsState != hsNone {
		c.mu.Unlock()
		c.reject(ts, data, fmt.Errorf("%w: second handshake", ErrProtocol), true)
		return
	}
	c.hsState = hsPending
	c.mu.Unlock()
	name, _ := head[1].(string)
	version := ""
	if len(head) > 2 {
		version, _ = head[2].(string)
	}
	strategy, cred, ok := verb(obj)
	if !ok {
		strategy = "anonymous"
	}
	credentials, _ := cred.([]any)
	if s.log.enabled() {
		s.log.emit(LogEvent{Kind: LogHandshakeRequest, Conn: c, Interface: name, Name: strategy})
	}
	s.goHandler(func() {
		err := s.completeHandshakeSafely(c, ts, name, version, strategy, credentials)
		if err != nil {
			s.log.emit(LogEvent{Kind: LogHandshake, Conn: c, Err: err})
			ts.end(handshakeError(err))
		}
	})
}

// completeHandshakeSafely runs completeHandshake, turning a panic in an
// auth policy or storage provider into code 16 for this client alone.
func (s *Server) completeHandshakeSafely(c *Connection, ts *transportState, name, version, strategy string, credentials []any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.emit(LogEvent{Kind: LogPanic, Conn: c, Err: fmt.Errorf("jstp: handshake panicked: %v", p)})
			err = ErrInternalAPIError
		}
	}()
	return s.completeHandshake(c, ts, name, version, strategy, credentials)
}

func (s *Server) completeHandshake(c *Connection, ts *transportState, name, version, strategy string, credentials []any) error {
	if name == "" {
		return ErrAppNotFound
	}
	app := s.lookupApp(name, version)
	if app == nil {
		return ErrAppNotFound
	}
	if version == "" {
		version = strconv.FormatUint(app.version.Major(), 10) + ".x"
	}
	ctx, cancel := context.WithTimeout(s.baseCtx, storageTimeout)
	defer cancel()
	if strategy == "session" {
		return s.resume(ctx, c, ts, app, version, credentials)
	}
	username := ""
	if strategy != "anonymous" {
		if s.opts.AuthPolicy == nil {
			return ErrAuthFailed
		}
		user, err := s.opts.AuthPolicy.Authenticate(ctx, c, app, strategy, credentials)
		if err != nil {
			var re *RemoteError
			if errors.As(err, &re) {
				return re
			}
			return ErrAuthFailed
		}
		if user == "" {
			return ErrAuthFailed
		}
		username = user
	}
	sess := newSession("", username)
	msg := []byte("{handshake:[0],ok:")
	msg = mdsf.AppendString(msg, sess.id)
	msg = append(msg, '}')
	// Register before answering, so a client that closes right after the
	// answer is seen to disconnect.
	s.register(c, sess, app)
	if !c.bind(ts, app, version, sess, msg, 0, false) {
		s.unregister(c)
		return nil
	}
	c.log.emit(LogEvent{Kind: LogHandshake, Conn: c})
	s.notify(s.opts.OnConnect, c)
	return nil
}

func (s *Server) resume(ctx context.Context, c *Connection, ts *transportState, app *Application, version string, credentials []any) error {
	if len(credentials) < 2 {
		return ErrAuthFailed
	}
	id, ok1 := credentials[0].(string)
	received, ok2 := credentials[1].(float64)
	if !ok1 || !ok2 || received < 0 {
		return ErrAuthFailed
	}
	s.mu.Lock()
	s.sweepLocked()
	var sess *Session
	if e := s.sessions[id]; e != nil && e.app.name == app.name {
		sess = e.s
	}
	s.mu.Unlock()
	if sess == nil {
		stored, err := s.storageFor(app).Get(ctx, id)
		if err != nil {
			s.log.emit(LogEvent{Kind: LogError, Conn: c, Err: fmt.Errorf("jstp: session storage: %w", err)})
			return ErrAuthFailed
		}
		if stored == nil {
			return ErrAuthFailed
		}
		sess = stored
	}
	if old := sess.Connection(); old != nil && old != c {
		// The old transport has not noticed it is dead yet: retire it, and
		// wait until it delivers nothing more, so the count below covers
		// everything it did deliver.
		if ots := old.beginClose(); ots != nil {
			<-ots.closed
		}
	}
	msg := []byte("{handshake:[0],ok:")
	msg = appendID(msg, sess.ReceivedCount())
	msg = append(msg, '}')
	s.register(c, sess, app)
	if !c.bind(ts, app, version, sess, msg, int64(received), true) {
		s.unregister(c)
		return nil
	}
	c.log.emit(LogEvent{Kind: LogHandshake, Conn: c})
	s.notify(s.opts.OnReconnect, c)
	return nil
}

// bind completes a server-side handshake on c: it binds the session, sends
// the answer, resends what the client lacks (on resumption) and starts the
// heartbeat. It reports false when the transport went away meanwhile.
func (c *Connection) bind(ts *transportState, app *Application, version string, sess *Session, answer []byte, peerReceived int64, resumed bool) bool {
	c.mu.Lock()
	if c.tr != ts || c.finished || c.closing {
		c.mu.Unlock()
		return false
	}
	c.app = app
	c.requestedVersion = version
	c.session = sess
	c.hsState = hsDone
	if c.hsTimer != nil {
		c.hsTimer.Stop()
		c.hsTimer = nil
	}
	sess.mu.Lock()
	sess.conn = c
	sess.mu.Unlock()
	flush := ts.enqueue(queued{msg: answer})
	if resumed {
		lost, more := c.restoreLocked(ts, peerReceived)
		flush = flush || more
		defer failPending(pendingList(lost), nil)
	}
	if every := c.server.opts.HeartbeatInterval; every > 0 {
		c.heartbeatEvery = every
		c.armHeartbeatLocked()
	}
	c.mu.Unlock()
	if flush {
		ts.flush()
	}
	return true
}

func pendingList(ps []*pendingCall) map[int64]*pendingCall {
	m := make(map[int64]*pendingCall, len(ps))
	for i, p := range ps {
		m[int64(i)] = p
	}
	return m
}

func (s *Server) register(c *Connection, sess *Session, app *Application) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.conns[c]; !live {
		return
	}
	s.clients[c] = struct{}{}
	s.sessions[sess.id] = &sessionEntry{s: sess, app: app}
}

// notify calls a connection notification, if set, containing its panics.
func (s *Server) notify(fn func(*Connection), c *Connection) {
	if fn != nil {
		c.safely("connection notification", func() { fn(c) })
	}
}

func (s *Server) unregister(c *Connection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, c)
}

// connectionClosed forgets a closed connection and stores its session.
func (s *Server) connectionClosed(c *Connection, handshaken bool) {
	c.mu.Lock()
	sess := c.session
	app := c.app
	if c.hsTimer != nil {
		c.hsTimer.Stop()
		c.hsTimer = nil
	}
	c.mu.Unlock()
	detach := false
	if sess != nil {
		sess.mu.Lock()
		if sess.conn == c {
			sess.conn = nil
			detach = true
		}
		sess.mu.Unlock()
	}
	s.mu.Lock()
	s.sweepLocked()
	delete(s.conns, c)
	_, wasClient := s.clients[c]
	delete(s.clients, c)
	if detach {
		if e := s.sessions[sess.id]; e != nil && e.s == sess {
			e.detached = time.Now()
		}
	}
	s.mu.Unlock()
	if detach {
		store := s.storageFor(app)
		s.goHandler(func() {
			ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
			defer cancel()
			err := store.Set(ctx, sess.id, sess)
			if m, ok := store.(InactiveMarker); ok && err == nil {
				err = m.SetInactive(ctx, sess.id)
			}
			if err != nil {
				s.log.emit(LogEvent{Kind: LogError, Conn: c, Err: fmt.Errorf("jstp: session storage: %w", err)})
			}
		})
	}
	if wasClient && handshaken {
		s.notify(s.opts.OnDisconnect, c)
	}
}

// sweepLocked forgets in-memory sessions detached for longer than the
// client expiration time (they remain in the storage provider). It scans at
// most once per sixteenth of that time.
func (s *Server) sweepLocked() {
	now := time.Now()
	if now.Sub(s.lastSweep) < s.expiration/16 {
		return
	}
	s.lastSweep = now
	for id, e := range s.sessions {
		if !e.detached.IsZero() && now.Sub(e.detached) >= s.expiration {
			delete(s.sessions, id)
		}
	}
}

// beginClose marks the connection as intentionally closing and closes its
// transport, returning it (nil when there is none).
func (c *Connection) beginClose() *transportState {
	c.mu.Lock()
	c.closing = true
	c.stopHeartbeatLocked()
	ts := c.tr
	c.mu.Unlock()
	c.closeCancel()
	if ts != nil {
		ts.end(nil)
	}
	return ts
}

// encodeArgs appends the mdsf array of args to dst.
func encodeArgs(dst []byte, args []any) ([]byte, error) {
	if args == nil {
		args = []any{}
	}
	return mdsf.AppendArray(dst, args)
}

// emitPayload sends an event whose arguments are already encoded. On a
// server connection replaced by a resumption of its session, the event goes
// to the connection that now holds the session.
func (c *Connection) emitPayload(iface, name string, payload []byte) error {
	o := &outgoing{kind: "event", iface: iface, verb: name, payload: payload}
	for {
		_, err := c.sendNumbered(o, nil)
		if err != errMoved {
			return err
		}
		next := c.Session().Connection()
		if next == c {
			return ErrClosed
		}
		if next != nil {
			c = next
		}
		// nil: the session is between connections again, and c buffers
		// the event in it for the next resumption.
	}
}

// group counts running goroutines and lets callers wait for none, with a
// context; unlike sync.WaitGroup, adding while someone waits is fine.
type group struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

func (g *group) add() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

func (g *group) done() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		for _, w := range g.waiters {
			close(w)
		}
		g.waiters = nil
	}
	g.mu.Unlock()
}

func (g *group) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	w := make(chan struct{})
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
