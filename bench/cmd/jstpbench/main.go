// Command jstpbench runs the jstp-go benchmarks side by side with the Node
// reference and the raw transports: see docs/performance.md. Run it from
// the repository root (make bench runs it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/jstp-go/jstp/bench"
)

func main() {
	bench.MaybeServe() // when started as a benchmark server

	quick := flag.Bool("quick", false, "tiny counts: checks that every configuration runs")
	points := flag.String("points", "", `points to run, separated by ";", e.g. "W1 C100 R1000 S10; rtt R5000 S10" (default: the issue's points plus round-trip latency; "none": memory runs only)`)
	adapterList := flag.String("adapters", "", "comma-separated adapters (default: "+strings.Join(bench.AdapterNames(), ",")+")")
	out := flag.String("out", "bench/results", "directory for results.json and results.md, relative to the repository root (empty: none)")
	mem := flag.String("mem", "10000", `idle connection counts of the memory runs, comma-separated ("" or 0: none)`)
	inflight := flag.Int("mem-inflight", 1000, "connections that then carry 10 held calls each")
	profile := flag.String("profile", "", "directory for CPU profiles of the Go servers of the go→go and node→go runs")
	clientProfile := flag.String("client-profile", "", "file for a CPU profile of this process, which runs the Go load generator (and the echo clients)")
	traces := flag.Bool("trace", false, "with -profile, also an execution trace (runtime/trace) of each of those servers, beside its profile (.trace); with -client-profile, one of this process (<client-profile>.trace)")
	repeat := flag.Int("repeat", 5, "run every measurement of a point this many times and report the median")
	noNode := flag.Bool("no-node", false, "skip the Node reference runs")
	copyArgs := flag.Bool("copy-args", false, "register the Go servers' method without jstp.BorrowArgs: every argument is copied into a string of its own")
	workers := flag.Bool("workers", false, "register the Go servers' method without jstp.NonBlocking: every call runs on a worker goroutine")
	serverEnv := flag.String("server-env", "", `comma-separated NAME=value settings for the Go servers only, e.g. "GOGC=400,GOMAXPROCS=1" (noted in the report)`)
	timeout := flag.Duration("run-timeout", 2*time.Minute, "bound of one run")
	total := flag.Duration("timeout", 40*time.Minute, "bound of the whole benchmark")
	flag.Parse()

	cfg := bench.Config{Log: os.Stdout, ProfileDir: *profile, Trace: *traces, RunTimeout: *timeout, MemInflight: *inflight, Repeat: *repeat}
	if *quick {
		cfg.Repeat = 1
		cfg.Points = bench.QuickPoints()
		cfg.MemConns = []int{200}
		cfg.MemInflight = 20
	} else {
		cfg.Points = bench.FullPoints()
		for _, f := range strings.Split(*mem, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				cfg.MemConns = append(cfg.MemConns, n)
			}
		}
	}
	if *points == "none" {
		cfg.Points = nil
	} else if *points != "" {
		cfg.Points = nil
		for _, s := range strings.Split(*points, ";") {
			p, err := bench.ParsePoint(s)
			if err != nil {
				fail(err)
			}
			cfg.Points = append(cfg.Points, p)
		}
	}
	if *serverEnv != "" {
		for _, kv := range strings.Split(*serverEnv, ",") {
			if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
				fail(fmt.Errorf("-server-env: %q is not NAME=value", kv))
			}
			cfg.ServerEnv = append(cfg.ServerEnv, kv)
		}
	}
	cfg.CopyArgs = *copyArgs
	cfg.Workers = *workers
	if *adapterList != "" {
		cfg.Adapters = strings.Split(*adapterList, ",")
	}
	root, err := bench.FindRoot()
	if err != nil {
		fail(err)
	}
	if *out != "" && !filepath.IsAbs(*out) {
		*out = filepath.Join(root, *out)
	}
	if !*noNode {
		if cfg.Node, err = bench.FindNode(root); err != nil {
			fail(err)
		}
	}
	if *traces && *profile == "" && *clientProfile == "" {
		fail(errors.New("-trace needs -profile or -client-profile: the traces are written beside the profiles"))
	}
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			fail(err)
		}
	}
	if *clientProfile != "" {
		f, err := os.Create(*clientProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
		if *traces {
			stopTrace, err := bench.StartTrace(*clientProfile + ".trace")
			if err != nil {
				fail(err)
			}
			defer stopTrace()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *total)
	defer cancel()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		rep.Command = strings.Join(append([]string{"go run ./bench/cmd/jstpbench"}, os.Args[1:]...), " ")
		fmt.Println()
		rep.WriteText(os.Stdout)
		if *out != "" {
			if err := rep.Save(*out); err != nil {
				fail(err)
			}
			fmt.Printf("\nwrote %s/results.json and %s/results.md\n", *out, *out)
		}
		if f := rep.Failures(); len(f) > 0 {
			fmt.Fprintln(os.Stderr, "failures:\n  "+strings.Join(f, "\n  "))
			os.Exit(1)
		}
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "jstpbench:", err)
	os.Exit(1)
}
