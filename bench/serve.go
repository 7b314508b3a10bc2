package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// Environment of a server child process (this binary, started again).
const (
	envServe   = "JSTPBENCH_SERVE"   // "jstp:<adapter>" or "echo:<adapter>"
	envAck     = "JSTPBENCH_ACK"     // size of the echo server's answer
	envProfile = "JSTPBENCH_PROFILE" // CPU profile file, optional
	envDir     = "JSTPBENCH_DIR"     // directory for Unix sockets
	envCopy    = "JSTPBENCH_COPY"    // "1": the method copies its argument (no BorrowArgs)
	envWorkers = "JSTPBENCH_WORKERS" // "1": the method runs on workers (no NonBlocking)
	envTrace   = "JSTPBENCH_TRACE"   // execution trace file, optional
)

// MaybeServe turns this process into a benchmark server when it was
// started as one (see startGoServer); it then never returns. Call it first
// thing in main and in TestMain.
func MaybeServe() {
	spec := os.Getenv(envServe)
	if spec == "" {
		return
	}
	if err := serveChild(spec); err != nil {
		fmt.Fprintln(os.Stderr, "jstpbench server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// benchApp is the workload's application: app, interface iface, method
// taking one string and answering with no result, as in the reference's
// benchmark; hold keeps the call open until released (memory runs).
// method keeps nothing of its argument, and says so with jstp.BorrowArgs
// unless copyArgs is set; it never waits, and says so with
// jstp.NonBlocking unless workers is set.
func benchApp(holds *atomic.Int64, notify chan struct{}, release chan struct{}, copyArgs, workers bool) *jstp.Application {
	app := jstp.MustNewApplication("app")
	var opts []jstp.MethodOption
	if !copyArgs {
		opts = append(opts, jstp.BorrowArgs())
	}
	if !workers {
		opts = append(opts, jstp.NonBlocking())
	}
	app.HandleRaw("iface", "method", 1, func(context.Context, *jstp.Connection, []any) ([]any, error) {
		return nil, nil
	}, opts...)
	app.HandleRaw("iface", "hold", 1, func(ctx context.Context, _ *jstp.Connection, _ []any) ([]any, error) {
		holds.Add(1)
		select {
		case notify <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	return app
}

func serveChild(spec string) error {
	RaiseFileLimit(1 << 20)
	kind, name, _ := strings.Cut(spec, ":")
	a := adapters[name]
	if a == nil {
		return fmt.Errorf("unknown adapter %q", name)
	}
	dir := os.Getenv(envDir)
	if dir == "" {
		dir = os.TempDir()
	}
	if p := os.Getenv(envProfile); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if p := os.Getenv(envTrace); p != "" {
		stop, err := StartTrace(p)
		if err != nil {
			return err
		}
		defer stop()
	}
	l, addr, err := listen(a, dir)
	if err != nil {
		return err
	}
	var holds atomic.Int64
	notify := make(chan struct{}, 1)
	release := make(chan struct{})
	var stop func(context.Context) error
	switch kind {
	case "jstp":
		app := benchApp(&holds, notify, release, os.Getenv(envCopy) == "1", os.Getenv(envWorkers) == "1")
		stop, err = a.ServeJSTP(jstp.ServerOptions{Applications: []*jstp.Application{app}}, l)
	case "echo":
		ack, _ := strconv.Atoi(os.Getenv(envAck))
		var s func()
		// The answer is text without NUL (NUL frames the socket transports).
		s, err = a.ServeEcho(l, []byte(strings.Repeat("0", max(ack, 1))))
		stop = func(context.Context) error { s(); return nil }
	default:
		err = fmt.Errorf("unknown server kind %q", kind)
	}
	if err != nil {
		l.Close()
		return err
	}
	fmt.Printf("ADDR %s\n", addr)
	released := false
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "gc":
			runtime.GC()
			debug.FreeOSMemory()
			fmt.Println("OK")
		case "waitholds":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			deadline := time.After(2 * time.Minute)
		wait:
			for holds.Load() < n {
				select {
				case <-notify:
				case <-deadline:
					break wait
				}
			}
			fmt.Printf("OK %d\n", holds.Load())
		case "release":
			if !released {
				close(release)
				released = true
			}
			fmt.Println("OK")
		default:
			fmt.Println("OK unknown command")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !released {
		close(release)
	}
	return stop(ctx)
}

// goServer is a Go benchmark server running in a child process.
type goServer struct {
	*child
	addr string
}

// startGoServer starts this binary again as a server of the given kind
// ("jstp" or "echo") over adapter a, with cfg's scratch directory and
// server environment.
func startGoServer(cfg *Config, kind string, a *Adapter, ack int, profile string) (*goServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envServe+"="+kind+":"+a.Name,
		envAck+"="+strconv.Itoa(ack),
		envDir+"="+cfg.Dir,
		// A race-enabled server would otherwise linger 1 s when it ends.
		"GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"),
	)
	if profile != "" {
		cmd.Env = append(cmd.Env, envProfile+"="+profile)
		if cfg.Trace {
			cmd.Env = append(cmd.Env, envTrace+"="+traceFile(profile))
		}
	}
	if cfg.CopyArgs {
		cmd.Env = append(cmd.Env, envCopy+"=1")
	}
	if cfg.Workers {
		cmd.Env = append(cmd.Env, envWorkers+"=1")
	}
	cmd.Env = append(cmd.Env, cfg.ServerEnv...) // last, so that they win
	c, err := startChild("go "+kind+" server ("+a.Name+")", cmd)
	if err != nil {
		return nil, err
	}
	addr, err := c.expect("ADDR", 30*time.Second)
	if err != nil {
		c.stop(5 * time.Second)
		return nil, err
	}
	return &goServer{child: c, addr: addr}, nil
}

// traceFile names the execution trace written beside a CPU profile.
func traceFile(profile string) string {
	return strings.TrimSuffix(profile, ".pprof") + ".trace"
}

// StartTrace writes an execution trace (runtime/trace) of this process to
// file until the returned function is called.
func StartTrace(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { trace.Stop(); f.Close() }, nil
}
