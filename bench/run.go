package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// Config says what Run measures.
type Config struct {
	Points   []Point
	Adapters []string // subset of AdapterNames(); empty: all
	Node     *NodeEnv // nil: the Node runs are skipped (reported as such)
	Dir      string   // scratch directory: Unix sockets, profiles
	// ProfileDir, when set, receives a CPU profile of the Go server of
	// every go→go run, <adapter>-<point>.pprof, of every go→go copy run,
	// copy-<adapter>-<point>.pprof, and of every node→go run,
	// nodego-<adapter>-<point>.pprof (a later repetition overwrites an
	// earlier one).
	ProfileDir string
	// Trace, with ProfileDir, also has each of those servers write an
	// execution trace (runtime/trace) beside its CPU profile: the same
	// name ending in .trace instead of .pprof.
	Trace bool
	// ServerEnv holds NAME=value settings added to the environment of
	// every Go server (the jstp-go servers and the echo servers), e.g.
	// GOGC=400 or GOMAXPROCS=1, for experiments; the load generator in
	// this process does not get them.
	ServerEnv []string
	// CopyArgs registers the Go servers' method without jstp.BorrowArgs,
	// so that every call's argument is a string of its own (the default
	// for a method); by default the method, which keeps nothing of its
	// argument, borrows it, and points with large arguments (see
	// Point.LentArgs) also run go→go with a method that copies
	// (KindGoGoCopy).
	CopyArgs bool
	// Workers registers the Go servers' method without jstp.NonBlocking,
	// so that every call runs on a worker goroutine (the default for a
	// method); by default the method, which never waits, runs on the
	// goroutine that reads its connection, where the transport allows
	// (tcp and unix).
	Workers bool
	// MemConns lists the idle-connection counts of the memory runs (none:
	// no memory runs); MemInflight is how many of them then carry 10 held
	// calls each.
	MemConns    []int
	MemInflight int
	// Repeat runs every measurement of a point this many times (the
	// point's runs in turn, then again) and reports the median (0: once).
	Repeat     int
	RunTimeout time.Duration // bound of one run (0: 2 minutes)
	Log        io.Writer     // progress, may be nil
}

// MemResult is the server memory of one memory run.
type MemResult struct {
	Server        string  `json:"server"` // adapter name, or "node ws"/"node tcp"
	Conns         int     `json:"conns"`
	BaseKiB       int64   `json:"base_kib"`
	IdleKiB       int64   `json:"idle_kib"`
	PerConnKiB    float64 `json:"per_conn_kib"`
	InflightConns int     `json:"inflight_conns"`
	InflightKiB   int64   `json:"inflight_kib"`
	// PerInflightConnKiB is what one connection with 10 calls in flight
	// costs on top of an idle one.
	PerInflightConnKiB float64 `json:"per_inflight_conn_kib"`
	Err                string  `json:"error,omitempty"`
}

// Report is everything one Run measured.
type Report struct {
	Started  time.Time   `json:"started"`
	Seconds  float64     `json:"seconds"`
	Machine  string      `json:"machine"`
	Go       string      `json:"go"`
	Node     string      `json:"node"`
	Command  string      `json:"command"`
	Points   []Point     `json:"points"`
	Adapters []string    `json:"adapters"`
	Results  []Result    `json:"results"`
	Memory   []MemResult `json:"memory"`
	Notes    []string    `json:"notes"`
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Machine describes this machine in a line.
func Machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s)%s%s", runtime.NumCPU(), model, mem, kernel)
}

// Run measures every configuration of cfg.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	RaiseFileLimit(1 << 20)
	if cfg.RunTimeout == 0 {
		cfg.RunTimeout = 2 * time.Minute
	}
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "jstpbench")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		cfg.Dir = d
	}
	names := cfg.Adapters
	if len(names) == 0 {
		names = AdapterNames()
	}
	for _, n := range names {
		if adapters[n] == nil {
			return nil, fmt.Errorf("unknown adapter %q (have %s)", n, strings.Join(AdapterNames(), ", "))
		}
	}
	rep := &Report{Started: time.Now(), Machine: Machine(), Go: runtime.Version(), Points: cfg.Points, Adapters: names}
	if cfg.Node != nil {
		rep.Node = cfg.Node.Version + ", @metarhia/jstp 2.3.0 (JavaScript parser: the native addon is not built)"
	} else {
		rep.Notes = append(rep.Notes, "Node runs skipped: none was configured (jstpbench -no-node)")
	}
	if len(cfg.ServerEnv) > 0 {
		rep.Notes = append(rep.Notes, "Go servers ran with "+strings.Join(cfg.ServerEnv, " ")+" (not the defaults)")
	}
	if cfg.CopyArgs {
		rep.Notes = append(rep.Notes, "the Go servers' method copies its argument (jstpbench -copy-args)")
	} else {
		rep.Notes = append(rep.Notes, "the Go servers' method borrows its argument (jstp.BorrowArgs; jstpbench -copy-args turns it off)")
	}
	if cfg.Workers {
		rep.Notes = append(rep.Notes, "the Go servers' method runs on worker goroutines (jstpbench -workers)")
	} else {
		rep.Notes = append(rep.Notes, "the Go servers' method is declared non-blocking (jstp.NonBlocking: over tcp and unix it runs on the connection's reader; jstpbench -workers turns it off)")
	}
	for _, n := range names {
		if a := adapters[n]; a.Note != "" {
			rep.Notes = append(rep.Notes, n+": "+a.Note)
		}
	}
	var transports []string
	for _, n := range names {
		if t := adapters[n].Transport; !slices.Contains(transports, t) {
			transports = append(transports, t)
		}
	}
	for _, p := range cfg.Points {
		if ctx.Err() != nil {
			break
		}
		cfg.logf("== %s (%d connections, window %d per connection)", p, p.Conns(), p.PerConnWindow())
		var order []string
		runs := map[string][]Result{}
		record := func(r Result) {
			cfg.logRun(r)
			k := r.Kind + "|" + r.Adapter
			if _, ok := runs[k]; !ok {
				order = append(order, k)
			}
			runs[k] = append(runs[k], r)
		}
		for i := 0; i < max(cfg.Repeat, 1) && ctx.Err() == nil; i++ {
			if cfg.Repeat > 1 {
				cfg.logf("   -- repetition %d of %d", i+1, cfg.Repeat)
			}
			if cfg.Node != nil {
				for _, t := range transports {
					record(runNodeNode(ctx, &cfg, p, t))
				}
			}
			for _, n := range names {
				a := adapters[n]
				if cfg.Node != nil {
					record(runNodeGo(ctx, &cfg, p, a))
				}
				record(runGoGo(ctx, &cfg, p, a, false))
				if !cfg.CopyArgs && p.LentArgs() {
					record(runGoGo(ctx, &cfg, p, a, true))
				}
				record(runEcho(ctx, &cfg, p, a))
			}
		}
		for _, k := range order {
			rep.Results = append(rep.Results, median(runs[k]))
		}
	}
	for _, n := range cfg.MemConns {
		for _, name := range names {
			if ctx.Err() != nil {
				break
			}
			m := runMemory(ctx, &cfg, name, n)
			cfg.logf("   memory %-10s %6d conns: %.1f KiB/conn idle, +%.1f KiB/conn with 10 calls in flight %s", m.Server, n, m.PerConnKiB, m.PerInflightConnKiB, m.Err)
			rep.Memory = append(rep.Memory, m)
		}
		if cfg.Node != nil {
			for _, t := range []string{"ws", "tcp"} {
				if ctx.Err() != nil {
					break
				}
				m := runMemory(ctx, &cfg, "node "+t, n)
				cfg.logf("   memory %-10s %6d conns: %.1f KiB/conn idle, +%.1f KiB/conn with 10 calls in flight %s", m.Server, n, m.PerConnKiB, m.PerInflightConnKiB, m.Err)
				rep.Memory = append(rep.Memory, m)
			}
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, ctx.Err()
}

func (cfg *Config) logRun(r Result) {
	cfg.logf("   %-9s %-8s %9.0f calls/s  mean %7.3f ms  p50 %7.3f  p99 %7.3f  %7.1f MB/s  cpu srv %.2f cli %.2f  sleeps/call srv %.3f cli %.3f %s",
		r.Kind, r.Adapter, r.CallsPerS, r.MeanMs, r.P50Ms, r.P99Ms, r.MBPerS, r.ServerCPU, r.ClientCPU, r.ServerSleeps, r.ClientSleeps, r.Err)
}

func newResult(kind string, p Point, transport, adapter string) Result {
	return Result{Kind: kind, Point: p.String(), Transport: transport, Adapter: adapter, Conns: p.Conns(), Window: p.PerConnWindow()}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// cpuMeter measures the usage of a server process and of the load
// generator(s) between mark(true) and mark(false).
type cpuMeter struct {
	server, client string
	s0, c0, s, c   usage
	t0             time.Time
	wall           float64
}

func (m *cpuMeter) mark(start bool) {
	if start {
		m.s0, m.c0, m.t0 = readUsage(m.server), readUsage(m.client), time.Now()
		return
	}
	m.wall = time.Since(m.t0).Seconds()
	m.s, m.c = readUsage(m.server).sub(m.s0), readUsage(m.client).sub(m.c0)
}

func (m *cpuMeter) fill(r *Result) {
	r.setUsage(m.s, m.c, m.wall)
}

// setUsage fills in what the server and the client used over a run that
// took wall seconds: CPU per second, sleeps per call.
func (r *Result) setUsage(server, client usage, wall float64) {
	if wall > 0 {
		r.ServerCPU = server.cpu / wall
		r.ClientCPU = client.cpu / wall
	}
	if r.Calls > 0 {
		r.ServerSleeps = float64(server.sleeps) / float64(r.Calls)
		r.ClientSleeps = float64(client.sleeps) / float64(r.Calls)
	}
}

func runNodeNode(ctx context.Context, cfg *Config, p Point, transport string) Result {
	r := newResult(KindNodeNode, p, transport, "node "+transport)
	srv, err := cfg.Node.startServer(transport, cfg.Dir)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer srv.stop(10 * time.Second)
	nodeLoad(cfg, p, transport, srv, &r)
	return r
}

func nodeLoad(cfg *Config, p Point, transport string, srv *goServer, r *Result) {
	spid := strconv.Itoa(srv.pid())
	s0 := readUsage(spid)
	lat, errs, wall, client, err := cfg.Node.runLoad(p, transport, srv.addr, cfg.RunTimeout)
	s1 := readUsage(spid)
	r.Errors = errs
	r.Err = errString(err)
	r.fill(lat, wall, p.S)
	r.setUsage(s1.sub(s0), client, wall.Seconds())
}

func runNodeGo(ctx context.Context, cfg *Config, p Point, a *Adapter) Result {
	r := newResult(KindNodeGo, p, a.Transport, a.Name)
	srv, err := startGoServer(cfg, "jstp", a, 0, cfg.profileFile("nodego-", a, p))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer srv.stop(10 * time.Second)
	nodeLoad(cfg, p, a.Transport, srv, &r)
	return r
}

// profileFile names the CPU profile of a Go server's run at p, or is empty
// when no profiles were asked for: <prefix><adapter>-<point>.pprof.
func (cfg *Config) profileFile(prefix string, a *Adapter, p Point) string {
	if cfg.ProfileDir == "" {
		return ""
	}
	return filepath.Join(cfg.ProfileDir, prefix+a.Name+"-"+pointFile(p)+".pprof")
}

func pointFile(p Point) string {
	return strings.NewReplacer(" ", "", ":", "").Replace(p.String())
}

// runGoGo runs the Go load generator against a Go server; copyArgs
// registers the server's method without jstp.BorrowArgs (KindGoGoCopy),
// whatever cfg says.
func runGoGo(ctx context.Context, cfg *Config, p Point, a *Adapter, copyArgs bool) Result {
	kind, prefix := KindGoGo, ""
	if copyArgs {
		c := *cfg
		c.CopyArgs = true
		cfg, kind, prefix = &c, KindGoGoCopy, "copy-"
	}
	r := newResult(kind, p, a.Transport, a.Name)
	srv, err := startGoServer(cfg, "jstp", a, 0, cfg.profileFile(prefix, a, p))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer srv.stop(10 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()
	m := &cpuMeter{server: strconv.Itoa(srv.pid()), client: "self"}
	lat, errs, wall, err := runGoLoad(ctx, p, a.Dial(srv.addr, nil), m.mark)
	r.Errors = errs
	r.Err = errString(err)
	r.fill(lat, wall, p.S)
	m.fill(&r)
	return r
}

func runEcho(ctx context.Context, cfg *Config, p Point, a *Adapter) Result {
	r := newResult(KindEcho, p, a.Transport, a.Name)
	srv, err := startGoServer(cfg, "echo", a, ackSize, "")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer srv.stop(10 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()
	m := &cpuMeter{server: strconv.Itoa(srv.pid()), client: "self"}
	lat, wall, err := runEchoLoad(ctx, p, a, srv.addr, m.mark)
	r.Err = errString(err)
	r.fill(lat, wall, p.S)
	m.fill(&r)
	return r
}

// memRuns numbers the memory runs of this process.
var memRuns atomic.Int32

// sourceIP spreads the client sockets of memory run `run` over loopback
// source addresses, 10000 sockets each, so that no address runs out of
// ephemeral ports; every run takes fresh addresses (127.<1+run>.x.y) since
// the sockets of the previous one linger in TIME_WAIT.
func sourceIP(run, i int) net.IP {
	k := i / 10000
	return net.IPv4(127, byte(1+run%250), byte(k>>8), byte(1+k&0xff))
}

// runMemory opens n idle, handshaken connections to a server (a Go
// adapter, or "node ws"/"node tcp") and reports the growth of the
// server's resident memory; then MemInflight of them each get 10 calls
// held open by the server.
func runMemory(ctx context.Context, cfg *Config, server string, n int) MemResult {
	m := MemResult{Server: server, Conns: n}
	// Both this process (clients) and the server hold one descriptor per
	// connection.
	if lim := RaiseFileLimit(1 << 20); uint64(n)+256 > lim {
		m.Err = fmt.Sprintf("open-file limit %d is below %d connections: raise the hard limit (ulimit -Hn; raising it needs CAP_SYS_RESOURCE)", lim, n)
		return m
	}
	var srv *goServer
	var err error
	var dial func(addr string, local net.IP) jstp.Dialer
	if t, ok := strings.CutPrefix(server, "node "); ok {
		srv, err = cfg.Node.startServer(t, cfg.Dir)
		if t == "ws" {
			dial = gorillaDial
		} else {
			dial = adapters["tcp"].Dial
		}
	} else {
		a := adapters[server]
		srv, err = startGoServer(cfg, "jstp", a, 0, "")
		dial = a.Dial
		if a.Transport == "unix" {
			dial = func(addr string, _ net.IP) jstp.Dialer { return a.Dial(addr, nil) }
		}
	}
	if err != nil {
		m.Err = err.Error()
		return m
	}
	defer srv.stop(30 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rss := func() int64 {
		if _, err := srv.command("gc", time.Minute); err != nil && m.Err == "" {
			m.Err = err.Error()
		}
		return rssKiB(srv.pid())
	}
	m.BaseKiB = rss()
	run := int(memRuns.Add(1))
	conns, proxies, err := connectAll(ctx, n, 64, func(i int) jstp.Dialer { return dial(srv.addr, sourceIP(run, i)) })
	if err != nil {
		m.Err = err.Error()
		return m
	}
	defer closeAll(conns)
	m.IdleKiB = rss()
	m.PerConnKiB = float64(m.IdleKiB-m.BaseKiB) / float64(n)

	k := min(cfg.MemInflight, n)
	if k == 0 {
		return m
	}
	const held = 10
	var wg sync.WaitGroup
	for _, px := range proxies[:k] {
		for range held {
			wg.Add(1)
			go func() { defer wg.Done(); px.Call(ctx, "hold", "") }()
		}
	}
	if _, err := srv.command(fmt.Sprintf("waitholds %d", k*held), 3*time.Minute); err != nil {
		m.Err = err.Error()
	}
	m.InflightConns = k
	m.InflightKiB = rss()
	m.PerInflightConnKiB = float64(m.InflightKiB-m.IdleKiB) / float64(k)
	srv.command("release", time.Minute)
	wg.Wait()
	return m
}
