package jstp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jstp-go/jstp/core/mdsf"
)

// Reconnection defaults, from the reference's default reconnector.
const (
	DefaultReconnectInitial = time.Second      // first wait after a lost connection
	DefaultReconnectMax     = 32 * time.Second // the wait doubles up to this
	DefaultReconnectJitter  = time.Second      // plus a random 0 to this

	// reconnectAttemptTimeout bounds one reconnection attempt (dial and
	// handshake), so a peer that accepts but never answers cannot stall
	// the reconnector.
	reconnectAttemptTimeout = 30 * time.Second
)

// Client holds the settings of a client connection. The zero value (or a
// nil *Client) is an anonymous client exposing an empty application
// jstp@1.0.0, reconnecting with DefaultReconnector.
type Client struct {
	// Application is exposed to the server (for calls and events from it).
	Application *Application
	// ConnectPolicy performs the handshake; nil means SimpleConnectPolicy
	// with Login and Password (anonymous when Login is empty).
	ConnectPolicy ConnectPolicy
	// Login and Password for the default connect policy.
	Login, Password string
	// Reconnector decides when and how to reconnect after the connection is
	// lost unintentionally; nil means DefaultReconnector().
	Reconnector Reconnector
	// HeartbeatInterval, when positive, sends a ping at that interval.
	HeartbeatInterval time.Duration
	// Logger receives log events at debug level.
	Logger *slog.Logger
	// Hook receives every log event.
	Hook func(LogEvent)
}

// ConnectPolicy performs a client's handshake on a fresh transport: a new
// session (session is nil) or the resumption of session.
type ConnectPolicy interface {
	Connect(ctx context.Context, conn *Connection, app string, session *Session) (*Session, error)
}

// SimpleConnectPolicy is the default ConnectPolicy: an anonymous handshake,
// or a login handshake when Login is set, and resumption of a session.
type SimpleConnectPolicy struct {
	Login, Password string
}

// Connect implements ConnectPolicy.
func (p SimpleConnectPolicy) Connect(ctx context.Context, conn *Connection, app string, session *Session) (*Session, error) {
	if session != nil {
		return session, conn.ResumeSession(ctx, app, session)
	}
	return conn.Handshake(ctx, app, p.Login, p.Password)
}

// Reconnector decides, after a client connection was lost unintentionally,
// when to try again and over what. NextAttempt is called before each
// attempt with the number of failed attempts since the last success and the
// last attempt's error; it returns the delay before the attempt, the Dialer
// to use (nil: the one used last) and false to give up, which ends the
// connection.
type Reconnector interface {
	NextAttempt(conn *Connection, attempt int, lastErr error) (delay time.Duration, dial Dialer, ok bool)
}

// ReconnectorFunc adapts a function to Reconnector.
type ReconnectorFunc func(conn *Connection, attempt int, lastErr error) (time.Duration, Dialer, bool)

// NextAttempt calls f.
func (f ReconnectorFunc) NextAttempt(conn *Connection, attempt int, lastErr error) (time.Duration, Dialer, bool) {
	return f(conn, attempt, lastErr)
}

// Backoff is an exponential backoff Reconnector: Initial before the first
// attempt, doubling after each failure up to Max, plus a random jitter from
// 0 to Jitter; it never gives up.
type Backoff struct {
	Initial, Max, Jitter time.Duration
}

// DefaultReconnector returns the reference's reconnection schedule: 1 s,
// doubling up to 32 s, plus 0 to 1 s of jitter, reset after a success.
func DefaultReconnector() *Backoff {
	return &Backoff{Initial: DefaultReconnectInitial, Max: DefaultReconnectMax, Jitter: DefaultReconnectJitter}
}

// NextAttempt implements Reconnector.
func (b *Backoff) NextAttempt(_ *Connection, attempt int, _ error) (time.Duration, Dialer, bool) {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if b.Jitter > 0 {
		d += rand.N(b.Jitter + 1) // 0 to Jitter inclusive
	}
	return d, nil, true
}

// appTarget is what a client asks a server for: a name and an optional
// version or range.
type appTarget struct{ name, version string }

func parseAppTarget(app string) (appTarget, error) {
	name, version := rsplitAt(app)
	if name == "" {
		return appTarget{}, errors.New("jstp: empty application name")
	}
	if version != "" && !validRange(version) {
		return appTarget{}, fmt.Errorf("jstp: invalid semver version range %q", version)
	}
	return appTarget{name: name, version: version}, nil
}

func (t appTarget) appendHandshake(b []byte) []byte {
	b = append(b, "{handshake:[0,"...)
	b = mdsf.AppendString(b, t.name)
	if t.version != "" {
		b = append(b, ',')
		b = mdsf.AppendString(b, t.version)
	}
	return append(b, ']')
}

func (cl *Client) withDefaults() *Client {
	out := &Client{}
	if cl != nil {
		*out = *cl
	}
	if out.Application == nil {
		out.Application = MustNewApplication("jstp@" + DefaultAppVersion)
	}
	if out.ConnectPolicy == nil {
		out.ConnectPolicy = SimpleConnectPolicy{Login: out.Login, Password: out.Password}
	}
	if out.Reconnector == nil {
		out.Reconnector = DefaultReconnector()
	}
	return out
}

// Connect opens a client connection: it dials, performs the handshake for
// application app ("name" or "name@range", e.g. "chat@^1.2.0"; AppRef
// builds it from a name and a version) and returns the connection. client may be
// nil for the defaults. After a successful handshake, a connection lost
// unintentionally is restored by the client's reconnector.
func Connect(ctx context.Context, app string, client *Client, dial Dialer) (*Connection, error) {
	target, err := parseAppTarget(app)
	if err != nil {
		return nil, err
	}
	cl := client.withDefaults()
	t, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	c := newConnection(nil, cl, &logger{hook: cl.Hook, slog: cl.Logger})
	c.target, c.dial, c.app = target, dial, cl.Application
	c.attach(t)
	if _, err := cl.ConnectPolicy.Connect(ctx, c, app, nil); err != nil {
		c.Close()
		return nil, err
	}
	c.StartHeartbeat(cl.HeartbeatInterval)
	return c, nil
}

// ConnectAndInspect connects like Connect, then inspects the named
// interfaces and returns a proxy for each. If an inspection fails, the
// usable connection is returned with the proxies obtained so far and the
// error.
func ConnectAndInspect(ctx context.Context, app string, client *Client, dial Dialer, interfaces ...string) (*Connection, map[string]*RemoteProxy, error) {
	c, err := Connect(ctx, app, client, dial)
	if err != nil {
		return nil, nil, err
	}
	proxies := make(map[string]*RemoteProxy, len(interfaces))
	for _, name := range interfaces {
		p, err := c.Inspect(ctx, name)
		if err != nil {
			return c, proxies, fmt.Errorf("jstp: inspect %s: %w", name, err)
		}
		proxies[name] = p
	}
	return c, proxies, nil
}

// handshake sends a handshake message (with an optional strategy member)
// and waits for its answer; complete applies a successful answer.
func (c *Connection) handshake(ctx context.Context, msg []byte, complete func(ts *transportState, val any) error) (any, error) {
	p := &pendingCall{kind: pendHandshake, ch: make(chan callResult, 1), complete: complete}
	c.mu.Lock()
	ts := c.tr
	if ts == nil || c.closing || c.finished {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.hsState != hsNone {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: handshake already done", ErrProtocol)
	}
	c.pending[0] = p
	writer := ts.enqueue(queued{msg: msg})
	c.mu.Unlock()
	if writer {
		ts.flush()
	}
	v, err := c.await(ctx, 0, p)
	if err != nil && ctx.Err() != nil {
		ts.end(nil)
	}
	return v, err
}

// Handshake performs a new-session handshake for app ("name" or
// "name@range"): anonymous when login is "", otherwise with login and
// password. It is what a ConnectPolicy calls.
func (c *Connection) Handshake(ctx context.Context, app, login, password string) (*Session, error) {
	target, err := parseAppTarget(app)
	if err != nil {
		return nil, err
	}
	msg := target.appendHandshake(make([]byte, 0, 64))
	if login != "" {
		msg = append(msg, ",login:["...)
		msg = mdsf.AppendString(msg, login)
		msg = append(msg, ',')
		msg = mdsf.AppendString(msg, password)
		msg = append(msg, ']')
	}
	msg = append(msg, '}')
	var sess *Session
	_, err = c.handshake(ctx, msg, func(ts *transportState, val any) error {
		id, ok := val.(string)
		if !ok || id == "" {
			return fmt.Errorf("%w: handshake answer without a session id", ErrProtocol)
		}
		sess = newSession(id, login)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.tr != ts {
			return ErrClosed
		}
		sess.conn = c
		c.session = sess
		c.hsState = hsDone
		c.hasConnected = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// ResumeSession resumes session s on the connection's new transport: the
// server answers how much it received, what it lacks is resent, and calls
// whose answers were lost fail with ErrCallbackLost (or are made again, for
// CallWithResend). It is what a ConnectPolicy calls on reconnection.
func (c *Connection) ResumeSession(ctx context.Context, app string, s *Session) error {
	target, err := parseAppTarget(app)
	if err != nil {
		return err
	}
	msg := target.appendHandshake(make([]byte, 0, 96))
	msg = append(msg, ",session:["...)
	msg = mdsf.AppendString(msg, s.id)
	msg = append(msg, ',')
	msg = appendID(msg, s.ReceivedCount())
	msg = append(msg, "]}"...)
	_, err = c.handshake(ctx, msg, func(ts *transportState, val any) error {
		n, ok := val.(float64)
		if !ok || n < 0 || n != float64(int64(n)) {
			return fmt.Errorf("%w: resumption answer without a count", ErrProtocol)
		}
		c.mu.Lock()
		if c.tr != ts {
			c.mu.Unlock()
			return ErrClosed
		}
		s.mu.Lock()
		s.conn = c
		s.mu.Unlock()
		c.session = s
		c.hsState = hsDone
		c.hasConnected = true
		lost, flush := c.restoreLocked(ts, int64(n))
		c.mu.Unlock()
		if flush {
			ts.flush()
		}
		for _, p := range lost {
			p.resolve(callResult{err: ErrCallbackLost})
		}
		return nil
	})
	return err
}

// Reconnect attaches a new transport from dial to a client connection and
// resumes its session; it is what the reconnector does, and what a user
// calls to move a connection elsewhere (another address or transport).
func (c *Connection) Reconnect(ctx context.Context, dial Dialer) error {
	if c.client == nil {
		return errors.New("jstp: Reconnect on a server connection")
	}
	c.reconnMu.Lock()
	defer c.reconnMu.Unlock()
	return c.reconnectLocked(ctx, dial)
}

func (c *Connection) reconnectLocked(ctx context.Context, dial Dialer) error {
	if c.isClosing() {
		return ErrClosed
	}
	t, err := dial(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closing || c.finished {
		c.mu.Unlock()
		t.Close()
		return ErrClosed
	}
	old := c.tr
	c.tr = nil
	c.hsState = hsNone
	c.stopHeartbeatLocked()
	sess := c.session
	c.dial = dial
	c.mu.Unlock()
	if old != nil {
		old.t.Close()
		<-old.closed
	}
	ts := c.attach(t)
	app := c.target.name
	if c.target.version != "" {
		app += "@" + c.target.version
	}
	if _, err := c.client.ConnectPolicy.Connect(ctx, c, app, sess); err != nil {
		c.mu.Lock()
		if c.tr == ts {
			c.tr = nil
			c.hsState = hsNone
		}
		c.mu.Unlock()
		ts.t.Close()
		<-ts.closed
		return err
	}
	c.StartHeartbeat(c.client.HeartbeatInterval)
	return nil
}

// startReconnecting starts the reconnection loop unless it runs already.
func (c *Connection) startReconnecting() {
	c.mu.Lock()
	if c.reconnecting || c.closing || c.finished {
		c.mu.Unlock()
		return
	}
	c.reconnecting = true
	c.reconnWG.Add(1)
	c.mu.Unlock()
	go c.reconnectLoop()
}

func (c *Connection) reconnectLoop() {
	defer c.reconnWG.Done()
	// stop ends the loop; the flag is cleared under the lock so that a
	// transport lost right after a success starts a new loop.
	stop := func() {
		c.mu.Lock()
		c.reconnecting = false
		c.mu.Unlock()
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		delay, dial, ok := c.client.Reconnector.NextAttempt(c, attempt, lastErr)
		if !ok {
			if lastErr == nil {
				lastErr = ErrClosed
			}
			stop()
			c.finish(fmt.Errorf("jstp: reconnection abandoned: %w", lastErr))
			return
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-c.closeCtx.Done():
			timer.Stop()
			stop()
			return
		}
		c.reconnMu.Lock()
		if dial == nil {
			dial = c.dial
		}
		c.log.emit(LogEvent{Kind: LogReconnectAttempt, Conn: c})
		if c.Connected() {
			lastErr = nil // a manual Reconnect won meanwhile
		} else {
			ctx, cancel := context.WithTimeout(c.closeCtx, reconnectAttemptTimeout)
			lastErr = c.reconnectLocked(ctx, dial)
			cancel()
		}
		c.reconnMu.Unlock()
		c.log.emit(LogEvent{Kind: LogReconnect, Conn: c, Err: lastErr})
		c.mu.Lock()
		switch {
		case c.closing || c.finished, lastErr == nil && c.tr != nil:
			c.reconnecting = false
			c.mu.Unlock()
			return
		case lastErr == nil:
			// Lost again right after the success: start over.
			attempt = -1
		}
		c.mu.Unlock()
	}
}

// AppRef returns the application reference Connect takes for a name and a
// semver version or range: the Go form of the reference's { name, version }
// object. An empty version asks for the newest version of the name.
func AppRef(name, version string) string {
	if version == "" {
		return name
	}
	return name + "@" + version
}
