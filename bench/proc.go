package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RaiseFileLimit raises RLIMIT_NOFILE to want (or the hard limit, when it
// cannot be raised further) and returns the soft limit in force.
func RaiseFileLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur >= want {
		return lim.Cur
	}
	n := lim
	n.Cur = want
	if n.Max < want {
		n.Max = want // works with CAP_SYS_RESOURCE
	}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n) != nil {
		n.Cur, n.Max = lim.Max, lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n)
	}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// child is a process the benchmark started: a Go server (this binary
// again), a Node server or a Node load generator. It speaks a line
// protocol: it announces itself on stdout, takes commands on stdin, and
// ends when stdin closes. The kernel kills it if the benchmark dies.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	err   error
	tail  *bytes.Buffer // stderr, for error reports
}

func startChild(name string, cmd *exec.Cmd) (*child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 16),
		done: make(chan struct{}), tail: &bytes.Buffer{}}
	cmd.Stderr = &limitedWriter{w: c.tail, n: 16 << 10}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// expect waits for the next line starting with prefix (other lines are
// skipped) and returns the rest of it.
func (c *child) expect(prefix string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return "", fmt.Errorf("%s ended before %q: %s", c.name, prefix, strings.TrimSpace(c.tail.String()))
			}
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-t.C:
			return "", fmt.Errorf("%s: no %q within %v", c.name, prefix, timeout)
		}
	}
}

// command sends a command line and waits for its "OK" reply.
func (c *child) command(cmd string, timeout time.Duration) (string, error) {
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		return "", fmt.Errorf("%s: %s: %w", c.name, cmd, err)
	}
	return c.expect("OK", timeout)
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop closes stdin, which tells the child to end, and waits for it; a
// child that does not end within the timeout is killed.
func (c *child) stop(timeout time.Duration) error {
	c.stdin.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not end within %v; killed", c.name, timeout)
	}
	var ee *exec.ExitError
	if c.err != nil && !errors.As(c.err, &ee) {
		return c.err
	}
	return nil
}

// usage is what a process has used of the machine so far.
type usage struct {
	cpu float64 // user+system CPU seconds
	// sleeps counts the voluntary context switches of the process's
	// threads: how often one of them went to sleep (in epoll_wait, on a
	// futex, in a blocking system call) and had to be woken again. A
	// thread that has exited no longer counts.
	sleeps int64
}

func (u usage) add(v usage) usage { return usage{cpu: u.cpu + v.cpu, sleeps: u.sleeps + v.sleeps} }
func (u usage) sub(v usage) usage { return usage{cpu: u.cpu - v.cpu, sleeps: u.sleeps - v.sleeps} }

// readUsage reads the usage of a process ("self" for this one); what it
// cannot read counts as zero.
func readUsage(pid string) usage {
	u := usage{cpu: cpuSeconds(pid)}
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return u
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/status")
		if err != nil {
			continue // the thread exited
		}
		u.sleeps += voluntarySwitches(b)
	}
	return u
}

// voluntarySwitches reads the voluntary_ctxt_switches line of a
// /proc/.../status file.
func voluntarySwitches(status []byte) int64 {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("voluntary_ctxt_switches:")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64)
			return n
		}
	}
	return 0
}

// cpuSeconds is the user+system CPU time of a process ("self" for this one).
func cpuSeconds(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// rssKiB is the resident set size of a process in KiB.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
