package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeServe() // the test binary doubles as the benchmark's server child
	os.Exit(m.Run())
}

// TestQuick runs every configuration of the benchmark, Node ones included,
// with tiny counts: it keeps the benchmark code working, it measures
// nothing worth reading.
func TestQuick(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := FindNode(root)
	if err != nil {
		t.Fatalf("%v\n(the quick benchmark runs the Node reference for real; from the repository root run: npm ci --ignore-scripts --prefix interop)", err)
	}
	points := QuickPoints()
	memConns := []int{40}
	if testing.Short() || raceEnabled {
		// Every kind of run on every adapter still runs: many connections
		// with a window of calls, and 100 KB messages.
		points = []Point{points[2], points[4]}
	}
	var log strings.Builder
	cfg := Config{
		Points:      points,
		Node:        node,
		Dir:         t.TempDir(),
		MemConns:    memConns,
		MemInflight: 4,
		RunTimeout:  time.Minute,
		Log:         &log,
		Repeat:      2,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	t.Log("\n" + log.String())
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Failures(); len(f) > 0 {
		t.Fatalf("failed runs:\n%s", strings.Join(f, "\n"))
	}
	// Per point: per adapter node→go, go→go, echo (and go→go copy where
	// the argument is large); Node ws, tcp, unix.
	want, copies := 0, 0
	for _, p := range points {
		want += len(AdapterNames())*3 + 3
		if p.LentArgs() {
			want += len(AdapterNames())
			copies += len(AdapterNames())
		}
	}
	if len(rep.Results) != want {
		t.Errorf("got %d results, want %d", len(rep.Results), want)
	}
	if copies == 0 {
		t.Error("no point with large arguments: go→go copy did not run")
	}
	lent := map[string]bool{}
	for _, p := range points {
		lent[p.String()] = p.LentArgs()
	}
	for _, x := range rep.Ratios() {
		if (x.GoCopyVsEcho != 0) != lent[x.Point] {
			t.Errorf("%s %s: go→go copy / echo is %v", x.Point, x.Adapter, x.GoCopyVsEcho)
		}
	}
	sleeps := map[string][2]float64{} // per kind: the server's and the client's per call, summed
	for _, r := range rep.Results {
		if r.Calls != pointCalls(points, r.Point) {
			t.Errorf("%s %s %s: %d calls completed, want %d", r.Point, r.Kind, r.Adapter, r.Calls, pointCalls(points, r.Point))
		}
		if len(r.Repeats) != cfg.Repeat {
			t.Errorf("%s %s %s: %d repetitions, want %d", r.Point, r.Kind, r.Adapter, len(r.Repeats), cfg.Repeat)
		}
		sleeps[r.Kind] = [2]float64{sleeps[r.Kind][0] + r.ServerSleeps, sleeps[r.Kind][1] + r.ClientSleeps}
	}
	// Each side waits for the other now and then. A run this short may
	// go without a sleep on one side, but not every run of a kind.
	for kind, s := range sleeps {
		if s[0] <= 0 || s[1] <= 0 {
			t.Errorf("%s: no sleeps measured in any run: server %v, client %v", kind, s[0], s[1])
		}
	}
	if len(rep.Memory) != len(AdapterNames())+2 {
		t.Errorf("got %d memory results, want %d", len(rep.Memory), len(AdapterNames())+2)
	}
	for _, m := range rep.Memory {
		if m.IdleKiB <= 0 || m.InflightConns != 4 {
			t.Errorf("memory %s: %+v", m.Server, m)
		}
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| point | adapter |") {
		t.Error("markdown report has no ratio table")
	}
	if err := rep.Save(t.TempDir()); err != nil {
		t.Error(err)
	}
}

// TestServerEnv: -server-env settings reach the Go server's process, after
// (so over) the benchmark's own, and not the load generator's; a report
// made with them says so.
func TestServerEnv(t *testing.T) {
	const mark = "JSTPBENCH_TEST_MARK"
	cfg := &Config{Dir: t.TempDir(), ServerEnv: []string{mark + "=42", envAck + "=7"}}
	srv, err := startGoServer(cfg, "echo", adapters["tcp"], 3, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.stop(10 * time.Second) })
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", srv.pid()))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(raw), "\x00")
	if !slices.Contains(env, mark+"=42") {
		t.Errorf("the server's environment lacks %s=42", mark)
	}
	if last := slices.Index(env, envAck+"=7"); last < 0 || slices.Index(env, envAck+"=3") > last {
		t.Errorf("%s=7 from ServerEnv does not come after the benchmark's %s=3", envAck, envAck)
	}
	if _, ok := os.LookupEnv(mark); ok {
		t.Errorf("%s leaked into the benchmark's own process", mark)
	}

	rep, err := Run(context.Background(), Config{Dir: t.TempDir(), ServerEnv: []string{mark + "=42"}, Adapters: []string{"tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, mark+"=42") }) {
		t.Errorf("report notes %q do not mention the server environment", rep.Notes)
	}
}

// TestMethodOptions: -copy-args and -workers reach the Go server's
// process (which then registers its method without BorrowArgs or
// NonBlocking), and the report says how the method was registered.
func TestMethodOptions(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		copyArgs bool // envCopy=1 expected
		workers  bool // envWorkers=1 expected
		notes    []string
	}{
		{"defaults", Config{}, false, false, []string{"borrows its argument", "declared non-blocking"}},
		{"copy-args", Config{CopyArgs: true}, true, false, []string{"copies its argument", "declared non-blocking"}},
		{"workers", Config{Workers: true}, false, true, []string{"borrows its argument", "runs on worker goroutines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Dir = t.TempDir()
			srv, err := startGoServer(&cfg, "echo", adapters["tcp"], 3, "")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", srv.pid()))
			srv.stop(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			env := strings.Split(string(raw), "\x00")
			if got := slices.Contains(env, envCopy+"=1"); got != tt.copyArgs {
				t.Errorf("%s=1 in the server's environment: %v, want %v", envCopy, got, tt.copyArgs)
			}
			if got := slices.Contains(env, envWorkers+"=1"); got != tt.workers {
				t.Errorf("%s=1 in the server's environment: %v, want %v", envWorkers, got, tt.workers)
			}
			cfg.Adapters = []string{"tcp"}
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.notes {
				if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, want) }) {
					t.Errorf("report notes %q do not say the method %s", rep.Notes, want)
				}
			}
		})
	}
}

func TestProfileFile(t *testing.T) {
	p := Point{W: 1, C: 100, R: 1000, S: 10}
	if got := (&Config{}).profileFile("nodego-", adapters["tcp"], p); got != "" {
		t.Errorf("no ProfileDir: got %q", got)
	}
	got := (&Config{ProfileDir: "/x"}).profileFile("nodego-", adapters["gorilla"], p)
	if want := "/x/nodego-gorilla-W1C100R1000S10.pprof"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func pointCalls(ps []Point, name string) int {
	for _, p := range ps {
		if p.String() == name {
			return p.Calls()
		}
	}
	return -1
}

func TestParsePoint(t *testing.T) {
	p, err := ParsePoint("W2 C50 R1000 S1000")
	if err != nil || p != (Point{W: 2, C: 50, R: 1000, S: 1000}) {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = ParsePoint("rtt R10 S10")
	if err != nil || p.Window != 1 || p.String() != "rtt" || p.Calls() != 10 {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := ParsePoint("W1 C1"); err == nil {
		t.Fatal("a point without R and S parsed")
	}
	for _, p := range FullPoints() {
		if w := p.PerConnWindow(); w < 1 || w > p.R || w*p.Conns() > maxInflight {
			t.Errorf("%s: window %d", p, w)
		}
	}
}

// TestTrace: with Trace set, a Go server given a CPU profile also writes an
// execution trace beside it, and a server without a profile writes none.
func TestTrace(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "tcp-x.pprof")
	cfg := &Config{Dir: t.TempDir(), Trace: true}
	for _, file := range []string{profile, ""} {
		srv, err := startGoServer(cfg, "echo", adapters["tcp"], 3, file)
		if err != nil {
			t.Fatal(err)
		}
		srv.stop(10 * time.Second)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tcp-x.trace"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("go 1.")) {
		t.Errorf("the trace file does not start with a trace header: %q", raw[:min(len(raw), 16)])
	}
	if _, err := os.Stat(profile); err != nil {
		t.Errorf("no CPU profile beside the trace: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files written: %d, want the profile and the trace", len(entries))
	}
}
