// Package conformance proves that a JSTP transport, together with the
// engine in package jstp, speaks the protocol as the reference
// implementation (@metarhia/jstp 2.3.0) does: handshakes and their error
// codes, calls, events, introspection, ping and heartbeat, session resume
// after an abrupt drop, the client's reconnector, application versions,
// broadcast, and the answers to bad input.
//
// A transport author writes a Factory (listen, dial, break) and one test:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Factory{
//			Listen: func(t testing.TB, srv *jstp.Server) string {
//				ln := mytransport.Listen(t, "127.0.0.1:0", srv.Serve)
//				t.Cleanup(func() { ln.Close() })
//				return "my://" + ln.Addr().String()
//			},
//			Dial:  mytransport.DialAddr,
//			Break: func(tr jstp.Transport) { tr.(*mytransport.Conn).Abort() },
//		})
//	}
//
// Run it under the race detector (go test -race). Every behaviour is a named
// subtest (Handshake/Login, Resume/BufferedResent, BadInput/UnknownKind...),
// so a failing one can be run alone with -run. Each subtest has a watchdog
// that turns a hang into a failure with a goroutine dump, and checks with
// goleak that it left no goroutine behind. Known differences of an
// implementation are declared by name with RunWith and Options.Skip; they
// are reported as skipped with their reason, never silently.
package conformance

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
	"go.uber.org/goleak"
)

// Factory is what the suite needs from a transport: a way to serve a
// Server, a way to dial it, and a way to break a dialed connection.
type Factory struct {
	// Listen serves srv over the transport on a fresh 127.0.0.1 endpoint until
	// the test ends (stop it with t.Cleanup) and returns its address, e.g.
	// "ws://127.0.0.1:40123/" or "tcp://127.0.0.1:40124".
	Listen func(t testing.TB, srv *jstp.Server) (addr string)
	// Dial opens a client Transport to addr.
	Dial func(ctx context.Context, addr string) (jstp.Transport, error)
	// Break severs tr (a Transport returned by Dial) abruptly, as a network
	// failure would: no closing handshake, queued data may be lost. Optional:
	// nil means the suite falls back to tr.Close().
	Break func(tr jstp.Transport)
}

// Options adjusts a run of the suite.
type Options struct {
	// Skip declares known differences: the full name of a subtest below Run
	// (for example "Resume/IDsContinue") mapped to the reason it is skipped.
	// A whole group can be skipped by its name ("Reconnector"). Skipped
	// subtests are reported with t.Skip and their reason; a name that
	// matches no subtest fails the run, so stale declarations are noticed.
	Skip map[string]string

	// Timeout is the watchdog limit for one subtest: when a subtest runs
	// longer, it fails with a dump of all goroutines and its connections and
	// servers are closed to unblock it. Zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout is the watchdog limit of one subtest when Options.Timeout
// is zero. Every subtest normally finishes in well under a second; the
// margin is for slow, shared CI machines running under -race.
const DefaultTimeout = 20 * time.Second

// waitTimeout bounds each single wait for an expected event (a message, a
// callback, a close). It is shorter than the watchdog so that a missing
// event is reported as what it is, not as a hang.
const waitTimeout = 5 * time.Second

// quietWindow is how long the suite watches for something that must NOT
// happen (a reconnect attempt after an intentional close, a redelivered
// event) when there is no later event to wait for instead.
const quietWindow = 150 * time.Millisecond

// Run runs the whole conformance suite against the transport made by f,
// with no known differences declared. Run it under -race.
func Run(t *testing.T, f Factory) {
	t.Helper()
	RunWith(t, f, Options{})
}

// RunWith is Run with options: known differences to skip by name and the
// per-subtest watchdog limit.
func RunWith(t *testing.T, f Factory, opts Options) {
	t.Helper()
	if f.Listen == nil || f.Dial == nil {
		t.Fatal("conformance: Factory.Listen and Factory.Dial are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	all := orderedCases()
	known := map[string]bool{}
	for _, c := range all {
		parts := strings.Split(c.name, "/")
		for i := range parts {
			known[strings.Join(parts[:i+1], "/")] = true
		}
	}
	var stale []string
	for name := range opts.Skip {
		if !known[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	for _, name := range stale {
		t.Errorf("conformance: Options.Skip names %q, which is not a subtest", name)
	}
	runTree(t, f, opts, "", all)
}

// Names returns the full names of all subtests, in the order they run. The
// README's table of PROTOCOL.md rows refers to these names.
func Names() []string {
	all := orderedCases()
	out := make([]string, len(all))
	for i, c := range all {
		out[i] = c.name
	}
	return out
}

// groupOrder is the order groups run in: from the first message to the
// last resort.
var groupOrder = []string{
	"Handshake", "Call", "Events", "Inspect", "Ping", "Heartbeat", "Resume",
	"Reconnector", "Client", "Versions", "Broadcast", "Server", "BadInput", "Transport",
}

// orderedCases returns the registered cases grouped in groupOrder, keeping
// the registration order within a group.
func orderedCases() []testCase {
	rank := func(name string) int {
		head, _, _ := strings.Cut(name, "/")
		for i, g := range groupOrder {
			if g == head {
				return i
			}
		}
		return len(groupOrder)
	}
	out := append([]testCase(nil), cases...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].name) < rank(out[j].name) })
	return out
}

// testCase is one leaf subtest.
type testCase struct {
	name string // full path below Run, e.g. "Handshake/Login"
	fn   func(e *env)
}

// cases is the registry of all subtests, filled by the init functions of
// the group files in registration order.
var cases []testCase

// register adds leaf subtests to the registry.
func register(group string, leaves ...testCase) {
	for _, l := range leaves {
		cases = append(cases, testCase{name: group + "/" + l.name, fn: l.fn})
	}
}

// runTree runs cases grouped by their first path element, recursively, so
// that subtest names nest ("Run/Handshake/Login") and -run selects them.
func runTree(t *testing.T, f Factory, opts Options, prefix string, cs []testCase) {
	var order []string
	groups := map[string][]testCase{}
	leaves := map[string]testCase{}
	for _, c := range cs {
		rest := strings.TrimPrefix(c.name, prefix)
		head, _, nested := strings.Cut(rest, "/")
		if _, seen := groups[head]; !seen {
			if _, seenLeaf := leaves[head]; !seenLeaf {
				order = append(order, head)
			}
		}
		if nested {
			groups[head] = append(groups[head], c)
		} else {
			leaves[head] = c
		}
	}
	for _, head := range order {
		full := prefix + head
		t.Run(head, func(t *testing.T) {
			if reason, ok := opts.Skip[full]; ok {
				t.Skipf("known difference declared by the implementation: %s", reason)
			}
			if c, ok := leaves[head]; ok {
				runLeaf(t, f, opts, c)
				return
			}
			runTree(t, f, opts, full+"/", groups[head])
		})
	}
}

// runLeaf runs one subtest with its watchdog and leak check.
func runLeaf(t *testing.T, f Factory, opts Options, c testCase) {
	// Goroutines alive now (the harness, earlier subtests winding down) are
	// not this subtest's leaks. The check is registered first, so it runs
	// last: after the servers, listeners and connections are closed.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(ignore); err != nil {
			t.Errorf("goroutines left behind by %s:\n%v", c.name, err)
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, f: f, ctx: ctx, cancel: cancel}
	t.Cleanup(cancel)

	var once sync.Once
	finished := make(chan struct{})
	watchdog := time.AfterFunc(opts.Timeout, func() {
		once.Do(func() {
			t.Errorf("watchdog: %s still running after %v; closing its connections.\n%s",
				c.name, opts.Timeout, goroutineDump())
			e.abort()
			select {
			case <-finished:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("conformance: %s hung even after its connections were closed", c.name))
			}
		})
	})
	defer func() {
		close(finished)
		watchdog.Stop()
	}()
	c.fn(e)
}

// goroutineDump returns the stacks of all goroutines.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
