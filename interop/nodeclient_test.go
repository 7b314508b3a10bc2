package interop

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/adapters/gorilla"
	"github.com/jstp-go/jstp/adapters/nhooyr"
	"github.com/jstp-go/jstp/adapters/tcp"
)

// goServer is one Go adapter's server side, for the reference's client.
type goServer struct {
	name string
	// start serves the application and returns node/client.js's target.
	start func(t *testing.T, g *goApp) map[string]any
}

var goServers = []goServer{
	{name: "gorilla-ws", start: func(t *testing.T, g *goApp) map[string]any {
		s, err := gorilla.NewServer(g.options(), nil)
		must(t, err)
		l := localListener(t)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, http.ErrServerClosed)
		return map[string]any{"transport": "ws", "url": "ws://" + l.Addr().String() + "/"}
	}},
	{name: "nhooyr-ws", start: func(t *testing.T, g *goApp) map[string]any {
		s, err := nhooyr.NewServer(g.options(), nil)
		must(t, err)
		l := localListener(t)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, http.ErrServerClosed)
		return map[string]any{"transport": "ws", "url": "ws://" + l.Addr().String() + "/"}
	}},
	{name: "gobwas-ws", start: func(t *testing.T, g *goApp) map[string]any {
		s, err := gobwas.NewServer(g.options(), nil)
		must(t, err)
		l := localListener(t)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, gobwas.ErrServerClosed)
		return map[string]any{"transport": "ws", "url": "ws://" + l.Addr().String() + "/"}
	}},
	{name: "tcp", start: func(t *testing.T, g *goApp) map[string]any {
		s, err := tcp.NewServer(g.options(), nil)
		must(t, err)
		l := localListener(t)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, tcp.ErrServerClosed)
		addr := l.Addr().(*net.TCPAddr)
		return map[string]any{"transport": "net", "host": "127.0.0.1", "port": addr.Port}
	}},
	{name: "unix", start: func(t *testing.T, g *goApp) map[string]any {
		s, err := tcp.NewServer(g.options(), nil)
		must(t, err)
		path := filepath.Join(t.TempDir(), "jstp.sock")
		l, err := net.Listen("unix", path)
		must(t, err)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, tcp.ErrServerClosed)
		return map[string]any{"transport": "net", "path": path}
	}},
	{name: "tls", start: func(t *testing.T, g *goApp) map[string]any {
		cert, caFile := testCert(t)
		s, err := tcp.NewServer(g.options(), &tcp.ServerConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
		must(t, err)
		l := localListener(t)
		serveUntilCleanup(t, func() error { return s.Serve(l) }, s.Shutdown, tcp.ErrServerClosed)
		addr := l.Addr().(*net.TCPAddr)
		return map[string]any{"transport": "tls", "host": "127.0.0.1", "port": addr.Port, "ca": caFile}
	}},
}

// nodeClientChecks are the checks node/client.js must report, all passing.
var nodeClientChecks = []string{
	"handshake anonymous", "handshake login", "handshake bad login", "handshake unknown app",
	"version interop", "version interop@1.0.0", "version interop@^1.0.0", "version interop@~1.0.0",
	"version interop@1.x", "version interop@>=2.0.0", "version interop@^3.0.0",
	"echo and describe", "multiple arguments and results", "errors", "events both ways",
	"inspect and connectAndInspect", "ping and heartbeat", "broadcast", "1 MiB payloads",
	"session resume", "quirk lost callback", "quirk callMethodWithResend",
}

// TestNodeClient runs the reference client (node/client.js) against each Go
// adapter's server and checks every result it reports.
func TestNodeClient(t *testing.T) {
	nodeBinary(t)
	for _, gs := range goServers {
		t.Run(gs.name, func(t *testing.T) {
			g := newGoApp(t)
			target := gs.start(t, g)
			arg, _ := json.Marshal(target)
			p := startNode(t, nil, "client.js", string(arg))
			results, quirks := runNodeClient(t, p, g)
			for _, name := range nodeClientChecks {
				t.Run(name, func(t *testing.T) {
					r, ok := results[name]
					if !ok {
						t.Fatalf("node/client.js did not report check %q", name)
					}
					if r["ok"] != true {
						t.Errorf("reference client, check %q failed: %v", name, r["error"])
					}
				})
			}
			checkQuirks(t, quirks)
		})
	}
}

// runNodeClient follows node/client.js's output until it is done: it
// releases every reconnection the client waits for once the Go server has
// seen the disconnection, and collects the check results and quirks.
func runNodeClient(t *testing.T, p *nodeProc, g *goApp) (map[string]map[string]any, map[string]map[string]any) {
	results := map[string]map[string]any{}
	quirks := map[string]map[string]any{}
	deadline := time.Now().Add(3 * time.Minute)
	for i := 0; ; i++ {
		line := p.line(t, i, time.Until(deadline))
		switch {
		case line["done"] == true:
			return results, quirks
		case line["check"] != nil:
			results[fmt.Sprint(line["check"])] = line
		case line["quirk"] != nil:
			quirks[fmt.Sprint(line["quirk"])] = line
		case line["wait"] == "disconnect":
			sid := fmt.Sprint(line["session"])
			timeout := time.After(10 * time.Second)
		wait:
			for {
				select {
				case id := <-g.disconnects:
					if id == sid {
						break wait
					}
				case <-timeout:
					t.Fatalf("the Go server never saw session %s disconnect", sid)
				}
			}
			p.command(t, "go")
		case line["uncaught"] != nil:
			t.Errorf("node/client.js: uncaught exception: %v", line["uncaught"])
		}
	}
}

// checkQuirks asserts what the reference client itself does wrong, so that
// docs/compatibility.md stays true.
func checkQuirks(t *testing.T, quirks map[string]map[string]any) {
	t.Run("quirk: lost callback never reported", func(t *testing.T) {
		// connection.js/session.js: Session._restore fails callbacks only
		// from guaranteedDeliveredCount+1, and a later callback already
		// moved guaranteedDeliveredCount past the lost one.
		q, ok := quirks["lost callback"]
		if !ok {
			t.Fatal("not reported")
		}
		if q["settled"] != nil {
			t.Errorf("the reference now settles a callback lost behind a later answer: %v; update docs/compatibility.md", jsonString(q["settled"]))
		}
	})
	t.Run("quirk: callMethodWithResend resends without the arguments", func(t *testing.T) {
		q, ok := quirks["callMethodWithResend"]
		if !ok {
			t.Fatal("not reported")
		}
		// The reissued call carries the (empty) results instead of ['R']:
		// the Go server answers 17 to hold().
		if got := jsonString(q["result"]); got != `{"code":17}` {
			t.Errorf("callMethodWithResend after a lost callback gave %s, the reference's known result is {\"code\":17}; update docs/compatibility.md", got)
		}
	})
}
