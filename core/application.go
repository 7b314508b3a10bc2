package jstp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/jstp-go/jstp/core/mdsf"
)

// DefaultAppVersion is the version of an application created without one,
// as in the reference implementation.
const DefaultAppVersion = "1.0.0"

// MethodFunc is the raw form of a remote method: it receives the decoded
// call arguments and returns the results sent back in the callback. An error
// is sent as the callback's error (see RemoteError; any other error is
// answered with code 16).
//
// ctx is cancelled when the connection closes or the server shuts down.
type MethodFunc func(ctx context.Context, conn *Connection, args []any) ([]any, error)

// EventFunc handles an event received from the peer. Handlers of one
// connection run one at a time, in arrival order, on a goroutine of the
// engine (never on the transport's reading goroutine).
type EventFunc func(conn *Connection, args []any)

type method struct {
	fn     MethodFunc
	arity  int  // -1: any number of arguments
	min    int  // for variadic typed methods: the least number of arguments
	borrow bool // see BorrowArgs
	inline bool // see NonBlocking
}

// MethodOption changes how a method registered with HandleRaw, Handle or
// Interface is served.
type MethodOption func(*method)

// BorrowArgs declares that a method keeps nothing of its arguments after it
// returns, so that the engine may lend it memory that it reuses for later
// calls instead of allocating new memory for every call.
//
// With it, the strings in the arguments (and in anything a typed method
// decodes them into) may share a buffer that the engine overwrites once the
// method has returned and its results are encoded. A method that wants to
// keep a string, or hand it to a goroutine that outlives the call, must copy
// it first (strings.Clone). Returning an argument as a result, or in an
// error, is safe: both are encoded before the memory is reused. Under the
// race detector (go test -race) the memory is overwritten as soon as it is
// given back, so that a method that keeps a borrowed string shows it in
// its tests.
//
// The engine lends memory only where it pays: to calls whose text is large
// (4 KiB or more) and in the shape the reference writes, and never while a
// Hook or a Logger that records debug events would see the arguments. Other
// calls get arguments of their own, as without the option. Borrowing saves a server that receives large arguments most of
// its allocation and garbage collection work; docs/performance.md measures
// it.
func BorrowArgs() MethodOption {
	return func(m *method) { m.borrow = true }
}

// NonBlocking declares that a method returns promptly and never waits:
// not on I/O, not on a lock held for long, not on a call to the peer or
// on any other message from it. The engine may then run the method on the
// goroutine that reads the connection, in arrival order, instead of
// handing each call to a worker goroutine, and write the answers to the
// calls of one read from the network together. That saves a goroutine
// hand-off, with its thread wake-up, per call (docs/performance.md
// measures it).
//
// It takes effect on transports that report where each read ends
// (ReadBatcher: Pipe and the connections of every adapter, served and
// dialed: tcp's TCP, TLS and Unix sockets, gorilla's, gobwas's and
// nhooyr's WebSocket connections, the last where net/http reads through
// the adapter); elsewhere the method runs on a worker as without the
// option.
//
// The promise matters. While the method runs, its connection reads
// nothing more, and no other message goes out on it before the answers
// of the read are written. A method that waits for something that only a
// later message of the same connection brings (the answer to a call it
// makes to the peer, for example) waits forever. Calls to NonBlocking
// methods of one connection run one at a time, in the order they arrive;
// other methods' calls still run concurrently on workers.
func NonBlocking() MethodOption {
	return func(m *method) { m.inline = true }
}

// Application is a named, versioned set of interfaces whose methods a peer
// can call, plus handlers for the events a peer emits. A server serves
// applications; a client exposes one to the server.
//
// Register methods before the application is served; registration is safe
// for concurrent use but is not meant to change a live application (use
// Server.UpdateApplications with a new Application instead).
type Application struct {
	name    string
	version *semver.Version

	// SessionStorage, when set, stores the sessions of this application
	// instead of the server's provider.
	SessionStorage SessionStorageProvider

	mu         sync.RWMutex
	interfaces map[string]map[string]*method
	order      map[string][]string // method names in registration order
	events     map[string]map[string]EventFunc
}

// NewApplication creates an empty application. name is "name" (version
// 1.0.0) or "name@version" with a valid semver version.
func NewApplication(name string) (*Application, error) {
	n, v := rsplitAt(name)
	if v == "" {
		v = DefaultAppVersion
	}
	return NewApplicationVersion(n, v)
}

// NewApplicationVersion creates an empty application with the given name and
// semver version. An invalid version is an error.
func NewApplicationVersion(name, version string) (*Application, error) {
	if name == "" {
		return nil, errors.New("jstp: application name is empty")
	}
	ver, err := semver.StrictNewVersion(version)
	if err != nil {
		return nil, fmt.Errorf("jstp: invalid semver version %q of application %q: %w", version, name, err)
	}
	return &Application{
		name:       name,
		version:    ver,
		interfaces: make(map[string]map[string]*method),
		order:      make(map[string][]string),
		events:     make(map[string]map[string]EventFunc),
	}, nil
}

// MustNewApplication is like NewApplication but panics on an error. It is
// meant for package-level applications with constant names.
func MustNewApplication(name string) *Application {
	app, err := NewApplication(name)
	if err != nil {
		panic(err)
	}
	return app
}

// Name returns the application's name.
func (a *Application) Name() string { return a.name }

// Version returns the application's version as a string.
func (a *Application) Version() string { return a.version.String() }

// String returns "name@version".
func (a *Application) String() string { return a.name + "@" + a.version.String() }

// HandleRaw registers fn as method of interface iface. arity is the number
// of arguments a call must carry (a call with another count is answered
// with code 17), or -1 to accept any number.
func (a *Application) HandleRaw(iface, name string, arity int, fn MethodFunc, opts ...MethodOption) {
	if fn == nil {
		panic("jstp: HandleRaw with nil function")
	}
	a.add(iface, name, &method{fn: fn, arity: arity}, opts)
}

func (a *Application) add(iface, name string, m *method, opts []MethodOption) {
	for _, o := range opts {
		o(m)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	methods := a.interfaces[iface]
	if methods == nil {
		methods = make(map[string]*method)
		a.interfaces[iface] = methods
	}
	if _, dup := methods[name]; !dup {
		a.order[iface] = append(a.order[iface], name)
	}
	methods[name] = m
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	connType  = reflect.TypeFor[*Connection]()
	errorType = reflect.TypeFor[error]()
)

// Handle registers an ordinary Go function as method of interface iface.
// The function may take, first, a context.Context and then a *Connection;
// its remaining parameters receive the call's arguments, decoded with
// mdsf.Decode (a final variadic parameter takes the rest). It may return any
// number of results, the last of which may be an error; the other results
// are sent back in order.
//
// A call with the wrong number of arguments, or arguments that do not decode
// into the parameter types, is answered with code 17.
func (a *Application) Handle(iface, name string, fn any, opts ...MethodOption) error {
	m, err := typedMethod(fn)
	if err != nil {
		return fmt.Errorf("jstp: method %s.%s: %w", iface, name, err)
	}
	a.add(iface, name, m, opts)
	return nil
}

// Interface registers every exported method of impl as a method of
// interface iface, named with its first letter lowered (Go's Add becomes
// JSTP's add), following the rules of Handle. opts apply to every one of
// them.
func (a *Application) Interface(iface string, impl any, opts ...MethodOption) error {
	v := reflect.ValueOf(impl)
	t := v.Type()
	if t.NumMethod() == 0 {
		return fmt.Errorf("jstp: interface %s: %T has no exported methods", iface, impl)
	}
	for i := 0; i < t.NumMethod(); i++ {
		mt := t.Method(i)
		if err := a.Handle(iface, lowerFirst(mt.Name), v.Method(i).Interface(), opts...); err != nil {
			return err
		}
	}
	return nil
}

// On registers fn as the handler of event name on interface iface.
func (a *Application) On(iface, name string, fn EventFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	handlers := a.events[iface]
	if handlers == nil {
		handlers = make(map[string]EventFunc)
		a.events[iface] = handlers
	}
	handlers[name] = fn
}

// Methods returns the method names of interface iface in registration
// order, and false when the application has no such interface.
func (a *Application) Methods(iface string) ([]string, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if _, ok := a.interfaces[iface]; !ok {
		return nil, false
	}
	return append([]string(nil), a.order[iface]...), true
}

// Interfaces returns the names of the application's interfaces, sorted.
func (a *Application) Interfaces() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	names := make([]string, 0, len(a.interfaces))
	for n := range a.interfaces {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *Application) lookup(iface, name string) (*method, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	methods, ok := a.interfaces[iface]
	if !ok {
		return nil, ErrInterfaceNotFound
	}
	m, ok := methods[name]
	if !ok {
		return nil, ErrMethodNotFound
	}
	return m, nil
}

// borrows reports whether method iface.name was registered with
// BorrowArgs.
func (a *Application) borrows(iface, name string) bool {
	m, err := a.lookup(iface, name)
	return err == nil && m.borrow
}

// inline reports whether method iface.name was registered with
// NonBlocking.
func (a *Application) inline(iface, name string) bool {
	m, err := a.lookup(iface, name)
	return err == nil && m.inline
}

func (a *Application) eventHandler(iface, name string) EventFunc {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.events[iface][name]
}

// call runs a method, turning panics into code 16.
func (a *Application) call(ctx context.Context, conn *Connection, iface, name string, args []any) (res []any, err error) {
	m, err := a.lookup(iface, name)
	if err != nil {
		return nil, err
	}
	if m.arity >= 0 && len(args) != m.arity || m.arity < 0 && len(args) < m.min {
		return nil, ErrInvalidSignature
	}
	defer func() {
		if p := recover(); p != nil {
			conn.logPanic(iface, name, p)
			res, err = nil, ErrInternalAPIError
		}
	}()
	return m.fn(ctx, conn, args)
}

func typedMethod(fn any) (*method, error) {
	if f, ok := fn.(MethodFunc); ok {
		return &method{fn: f, arity: -1}, nil
	}
	if f, ok := fn.(func(context.Context, *Connection, []any) ([]any, error)); ok {
		return &method{fn: f, arity: -1}, nil
	}
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return nil, fmt.Errorf("want a function, got %T", fn)
	}
	t := v.Type()
	in := 0
	wantCtx := in < t.NumIn() && t.In(in) == ctxType
	if wantCtx {
		in++
	}
	wantConn := in < t.NumIn() && t.In(in) == connType
	if wantConn {
		in++
	}
	params := make([]reflect.Type, 0, t.NumIn()-in)
	for i := in; i < t.NumIn(); i++ {
		params = append(params, t.In(i))
	}
	variadic := t.IsVariadic()
	nout := t.NumOut()
	hasErr := nout > 0 && t.Out(nout-1) == errorType
	if hasErr {
		nout--
	}
	for i := 0; i < nout; i++ {
		if t.Out(i) == errorType {
			return nil, errors.New("only the last result may be an error")
		}
	}
	m := &method{arity: len(params)}
	if variadic {
		m.arity = -1
		m.min = len(params) - 1
	}
	m.fn = func(ctx context.Context, conn *Connection, args []any) ([]any, error) {
		vals := make([]reflect.Value, 0, t.NumIn())
		if wantCtx {
			vals = append(vals, reflect.ValueOf(ctx))
		}
		if wantConn {
			vals = append(vals, reflect.ValueOf(conn))
		}
		for i, arg := range args {
			pt := params[min(i, len(params)-1)]
			if variadic && i >= len(params)-1 {
				pt = pt.Elem()
			}
			p := reflect.New(pt)
			if err := mdsf.Decode(arg, p.Interface()); err != nil {
				return nil, ErrInvalidSignature
			}
			vals = append(vals, p.Elem())
		}
		out := v.Call(vals)
		if hasErr {
			if e := out[nout]; !e.IsNil() {
				return nil, e.Interface().(error)
			}
		}
		res := make([]any, nout)
		for i := 0; i < nout; i++ {
			res[i] = out[i].Interface()
		}
		return res, nil
	}
	return m, nil
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// rsplitAt splits "name@version" at the last '@'.
func rsplitAt(s string) (string, string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// AppsIndex holds applications by name and version, and finds the one a
// handshake asks for: the newest version of a name, an exact version, or the
// newest version satisfying a semver range.
type AppsIndex struct {
	byName map[string][]*Application // newest first
}

// NewAppsIndex indexes applications. Two applications with the same name
// and version are an error.
func NewAppsIndex(apps ...*Application) (*AppsIndex, error) {
	idx := &AppsIndex{byName: make(map[string][]*Application)}
	for _, app := range apps {
		if app == nil {
			return nil, errors.New("jstp: nil application")
		}
		for _, other := range idx.byName[app.name] {
			if other.version.Equal(app.version) {
				return nil, fmt.Errorf("jstp: application %s registered twice", app)
			}
		}
		idx.byName[app.name] = append(idx.byName[app.name], app)
	}
	for _, versions := range idx.byName {
		sort.SliceStable(versions, func(i, j int) bool {
			return versions[i].version.GreaterThan(versions[j].version)
		})
	}
	return idx, nil
}

// Applications returns every indexed application.
func (x *AppsIndex) Applications() []*Application {
	var out []*Application
	for _, versions := range x.byName {
		out = append(out, versions...)
	}
	return out
}

// Lookup returns the application named name matching version: "" for the
// newest, an exact version ("1.2.3") for that one, or a semver range for the
// newest that satisfies it. It returns nil when none matches.
func (x *AppsIndex) Lookup(name, version string) *Application {
	versions := x.byName[name]
	if len(versions) == 0 {
		return nil
	}
	if version == "" {
		return versions[0]
	}
	if exact, err := semver.StrictNewVersion(version); err == nil {
		for _, app := range versions {
			if app.version.Equal(exact) {
				return app
			}
		}
		return nil
	}
	c, err := semver.NewConstraint(version)
	if err != nil {
		return nil
	}
	for _, app := range versions {
		if c.Check(app.version) {
			return app
		}
	}
	return nil
}

// isExactVersion reports whether v names one exact version rather than a
// range.
func isExactVersion(v string) bool {
	_, err := semver.StrictNewVersion(v)
	return err == nil
}

// validRange reports whether v is a usable semver range (or exact version).
func validRange(v string) bool {
	_, err := semver.NewConstraint(v)
	return err == nil
}
