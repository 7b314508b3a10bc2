package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// NodeEnv locates node and the reference package installed by the interop
// project.
type NodeEnv struct {
	Node    string // node executable
	Module  string // interop/node_modules/@metarhia/jstp
	Scripts string // bench/node
	Version string
}

// ErrNoNode explains how to install the Node side.
var ErrNoNode = errors.New("the Node reference is missing: install node and run `npm ci --ignore-scripts --prefix interop`")

// FindRoot returns the repository root: the nearest directory at or above
// the working directory holding go.work.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 16 {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.work above the working directory: run from the jstp-go repository")
}

// FindNode checks node and interop/node_modules under root.
func FindNode(root string) (*NodeEnv, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoNode, err)
	}
	env := &NodeEnv{
		Node:    node,
		Module:  filepath.Join(root, "interop", "node_modules", "@metarhia", "jstp"),
		Scripts: filepath.Join(root, "bench", "node"),
	}
	if _, err := os.Stat(filepath.Join(env.Module, "package.json")); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoNode, err)
	}
	if out, err := exec.Command(node, "--version").Output(); err == nil {
		env.Version = string(trimNL(out))
	}
	return env, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (n *NodeEnv) command(script string, args ...string) *exec.Cmd {
	cmd := exec.Command(n.Node, append([]string{"--expose-gc", filepath.Join(n.Scripts, script)}, args...)...)
	cmd.Env = append(os.Environ(), "JSTP_MODULE="+n.Module)
	return cmd
}

// startNodeServer starts the reference server over transport (ws, tcp,
// unix).
func (n *NodeEnv) startServer(transport, dir string) (*goServer, error) {
	var args []string
	if transport == "unix" {
		p := filepath.Join(dir, fmt.Sprintf("jstpbench-node-%d.sock", os.Getpid()))
		os.Remove(p)
		args = append(args, p)
	}
	c, err := startChild("node "+transport+" server", n.command("server.js", append([]string{transport}, args...)...))
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

// runLoad runs the point with the reference load generator: W node
// processes of C connections each, started together once all are
// connected. It returns the latencies, the error count, the wall time
// from START to the last result and the workers' usage over it.
func (n *NodeEnv) runLoad(p Point, transport, addr string, timeout time.Duration) (lat []int64, errs int, wall time.Duration, used usage, err error) {
	workers := make([]*child, 0, p.W)
	defer func() {
		for _, w := range workers {
			w.stop(5 * time.Second)
		}
	}()
	args := []string{transport, addr, strconv.Itoa(p.C), strconv.Itoa(p.R), strconv.Itoa(p.S), strconv.Itoa(p.PerConnWindow())}
	for i := range p.W {
		w, err := startChild(fmt.Sprintf("node load generator %d", i), n.command("load.js", args...))
		if err != nil {
			return nil, 0, 0, usage{}, err
		}
		workers = append(workers, w)
	}
	for _, w := range workers {
		if _, err := w.expect("CONNECTED", timeout); err != nil {
			return nil, 0, 0, usage{}, err
		}
	}
	var u0 usage
	for _, w := range workers {
		u0 = u0.add(readUsage(strconv.Itoa(w.pid())))
	}
	t0 := time.Now()
	for _, w := range workers {
		if _, err := w.stdin.Write([]byte("START\n")); err != nil {
			return nil, 0, 0, usage{}, err
		}
	}
	for _, w := range workers {
		line, err := w.expect("RESULT", timeout)
		if err != nil {
			return nil, 0, 0, usage{}, err
		}
		var r struct {
			Lat    []float64 `json:"lat"`
			Errors int       `json:"errors"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, 0, 0, usage{}, fmt.Errorf("%s: %w", w.name, err)
		}
		for _, v := range r.Lat {
			lat = append(lat, int64(v))
		}
		errs += r.Errors
	}
	wall = time.Since(t0)
	for _, w := range workers {
		used = used.add(readUsage(strconv.Itoa(w.pid())))
	}
	return lat, errs, wall, used.sub(u0), nil
}
