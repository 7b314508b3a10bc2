package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// installHint is what every missing-prerequisite failure tells the reader to
// run.
const installHint = "run `npm ci --ignore-scripts --prefix interop` from the repository root (needs Node.js >= 18: `apt-get install -y nodejs npm`)"

// repoRoot is the directory holding go.work.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (no go.work above the working directory)")
		}
		dir = parent
	}
}

// interopDir is <root>/interop.
func interopDir(t testing.TB) string { return filepath.Join(repoRoot(t), "interop") }

// nodeBinary returns the path of node and checks that the reference packages
// are installed; it fails the test (never skips) otherwise.
func nodeBinary(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: the interoperability tests need Node.js and the reference packages; %s", installHint)
	}
	for _, pkg := range []string{"@metarhia/jstp", "mdsf"} {
		p := filepath.Join(interopDir(t), "node_modules", pkg, "package.json")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("reference package %s is missing (%v); %s", pkg, err, installHint)
		}
	}
	return node
}

// nodeProc is a running Node.js script whose stdout is a stream of JSON
// lines, collected for waitFor.
type nodeProc struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	lines  []map[string]any
	raw    []string
	notify chan struct{} // closed and replaced on every new line
	exited bool
	stderr strings.Builder
}

// startNode runs `node script args...` in interop/ with extra environment
// variables; the process is killed when the test ends.
func startNode(t testing.TB, env []string, script string, args ...string) *nodeProc {
	t.Helper()
	node := nodeBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(interopDir(t), "node", script)}, args...)...)
	cmd.Dir = interopDir(t)
	cmd.Env = append(os.Environ(), env...)
	p := &nodeProc{t: t, cmd: cmd, notify: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting node %s: %v", script, err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				m = map[string]any{"unparsed": line}
			}
			p.mu.Lock()
			p.lines = append(p.lines, m)
			p.raw = append(p.raw, line)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.exited = true
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-readDone:
		case <-time.After(3 * time.Second):
		}
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", script, p.Stderr())
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Stderr returns what the process wrote on stderr so far, without the
// warning that mdsf's native addon is not built.
func (p *nodeProc) Stderr() string {
	p.mu.Lock()
	text := p.stderr.String()
	p.mu.Unlock()
	// Drop the noise of mdsf's optional native addon, which
	// `npm ci --ignore-scripts` does not build.
	var keep []string
	skipping := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "Error: Cannot find module '../build/"):
			skipping = true
			continue
		case skipping && (l == "Require stack:" || strings.HasPrefix(l, "- ")):
			continue
		case strings.HasPrefix(l, "mdsf native addon is not built"):
			skipping = false
			continue
		}
		skipping = false
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// Output returns every stdout line so far.
func (p *nodeProc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.raw, "\n")
}

// waitFor returns the first stdout line (from the start) for which match is
// true, waiting up to timeout; it fails the test when none comes.
func (p *nodeProc) waitFor(t testing.TB, timeout time.Duration, what string, match func(m map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			if match(p.lines[seen]) {
				m := p.lines[seen]
				p.mu.Unlock()
				return m
			}
		}
		exited, notify := p.exited, p.notify
		p.mu.Unlock()
		if exited {
			t.Fatalf("node exited before printing %s\nstdout:\n%s\nstderr:\n%s", what, p.Output(), p.Stderr())
		}
		select {
		case <-notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for node to print %s\nstdout:\n%s\nstderr:\n%s", timeout, what, p.Output(), p.Stderr())
		}
	}
}

// line returns stdout line i (from 0), waiting up to timeout for it.
func (p *nodeProc) line(t testing.TB, i int, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if i < len(p.lines) {
			m := p.lines[i]
			p.mu.Unlock()
			return m
		}
		exited, notify := p.exited, p.notify
		p.mu.Unlock()
		if exited {
			t.Fatalf("node exited after %d lines\nstdout:\n%s\nstderr:\n%s", i, p.Output(), p.Stderr())
		}
		select {
		case <-notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for node's line %d\nstdout:\n%s\nstderr:\n%s", timeout, i, p.Output(), p.Stderr())
		}
	}
}

// command writes one JSON command line to the process's stdin.
func (p *nodeProc) command(t testing.TB, v any) {
	t.Helper()
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("writing a command to node: %v", err)
	}
}

// evLine matches a line {"ev": ev, "session": session}.
func evLine(ev, session string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		return m["ev"] == ev && (session == "" || m["session"] == session)
	}
}

// breakable is what the adapters' transports offer to sever a connection
// abruptly, as a network failure would.
type breakable interface{ Break() }

// trackingDialer wraps a Dialer and remembers the last transport it made.
type trackingDialer struct {
	dial jstp.Dialer
	mu   sync.Mutex
	last jstp.Transport
	n    int
}

func (d *trackingDialer) Dial(ctx context.Context) (jstp.Transport, error) {
	t, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.last, d.n = t, d.n+1
	d.mu.Unlock()
	return t, nil
}

// cut severs the last transport abruptly.
func (d *trackingDialer) cut(t testing.TB) {
	t.Helper()
	d.mu.Lock()
	tr := d.last
	d.mu.Unlock()
	b, ok := tr.(breakable)
	if !ok {
		t.Fatalf("transport %T has no Break method to sever it abruptly", tr)
	}
	b.Break()
}

func (d *trackingDialer) dials() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// gatedReconnector is a fast jstp.Reconnector that waits, before each
// attempt, until the test opens the gate.
type gatedReconnector struct {
	gate     chan struct{}
	attempts chan int
}

func newGatedReconnector() *gatedReconnector {
	return &gatedReconnector{gate: make(chan struct{}), attempts: make(chan int, 16)}
}

func (g *gatedReconnector) NextAttempt(conn *jstp.Connection, attempt int, _ error) (time.Duration, jstp.Dialer, bool) {
	select {
	case g.attempts <- attempt:
	default:
	}
	select {
	case <-g.gate:
		return 5 * time.Millisecond, nil, true
	case <-conn.Done(): // closed while waiting (a failed test's cleanup)
		return 0, nil, false
	case <-time.After(30 * time.Second):
		return 0, nil, false
	}
}

func (g *gatedReconnector) open() { close(g.gate) }

// ctxT returns a context bounded by d and cancelled when the test ends.
func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recvWithin receives from ch or fails the test after d.
func recvWithin[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
		panic("unreachable")
	}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
