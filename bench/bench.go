// Package bench measures jstp-go side by side with the Node reference
// implementation and with the raw transports underneath it. The command
// bench/cmd/jstpbench runs it; TestQuick runs every configuration with tiny
// counts so that CI keeps the code working.
package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Point is one workload: W client workers each open C connections and
// issue R calls per connection with an S-byte string argument. Window is
// the number of calls kept in flight on each connection (0: derived, see
// Point.window).
type Point struct {
	Name   string
	W      int
	C      int
	R      int
	S      int
	Window int
}

// Conns is the number of connections the point opens.
func (p Point) Conns() int { return p.W * p.C }

// Calls is the number of calls the point issues.
func (p Point) Calls() int { return p.W * p.C * p.R }

// String returns the point's name, or "W1 C100 R1000 S10" for one without.
func (p Point) String() string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("W%d C%d R%d S%d", p.W, p.C, p.R, p.S)
}

// Limits on what one point keeps in flight, over all its connections.
const (
	maxInflight      = 1024
	maxInflightBytes = 64 << 20
)

// PerConnWindow is how many calls each connection keeps in flight: the
// reference's load generator issues all R calls at once; here every load
// generator (Go and Node alike) keeps a bounded window so that latency
// measures service time rather than the depth of a self-made queue, and
// memory stays bounded at 100 KB arguments.
func (p Point) PerConnWindow() int {
	if p.Window > 0 {
		return min(p.Window, p.R)
	}
	n := p.Conns()
	w := maxInflight / n
	if p.S > 0 {
		w = min(w, maxInflightBytes/(p.S*n))
	}
	return max(1, min(w, p.R))
}

// FullPoints are the points plus pure round-trip latency.
func FullPoints() []Point {
	return []Point{
		{Name: "rtt", W: 1, C: 1, R: 5000, S: 10, Window: 1},
		{W: 1, C: 1, R: 20000, S: 10},
		{W: 1, C: 100, R: 1000, S: 10},
		{W: 2, C: 50, R: 1000, S: 1000},
		{W: 1, C: 10, R: 500, S: 100000},
	}
}

// QuickPoints are FullPoints with tiny counts, for CI.
func QuickPoints() []Point {
	return []Point{
		{Name: "rtt", W: 1, C: 1, R: 20, S: 10, Window: 1},
		{W: 1, C: 1, R: 200, S: 10},
		{W: 1, C: 20, R: 5, S: 10},
		{W: 2, C: 5, R: 5, S: 1000},
		{W: 1, C: 2, R: 3, S: 100000},
	}
}

// LentArgs reports whether the point's argument is large enough for
// jstp.BorrowArgs to matter: from 4 KiB, the size from which the engine
// lends memory to such a method. The default benchmark then also runs
// go→go with a method that copies its argument.
func (p Point) LentArgs() bool { return p.S >= 4<<10 }

// ParsePoint parses "W1 C100 R1000 S10" (or with commas or colons, any
// order; an optional "w=N" sets the window, "rtt" names round-trip points).
func ParsePoint(s string) (Point, error) {
	var p Point
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ':' }) {
		if f == "rtt" {
			p.Name, p.Window = "rtt", 1
			continue
		}
		if len(f) < 2 {
			return p, fmt.Errorf("bad point field %q", f)
		}
		var n int
		key := strings.ToUpper(f[:1])
		rest := f[1:]
		if strings.HasPrefix(strings.ToLower(f), "w=") {
			key, rest = "window", f[2:]
		}
		if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || n <= 0 {
			return p, fmt.Errorf("bad point field %q", f)
		}
		switch key {
		case "W":
			p.W = n
		case "C":
			p.C = n
		case "R":
			p.R = n
		case "S":
			p.S = n
		case "window":
			p.Window = n
		default:
			return p, fmt.Errorf("bad point field %q", f)
		}
	}
	if p.W == 0 {
		p.W = 1
	}
	if p.C == 0 {
		p.C = 1
	}
	if p.R == 0 || p.S == 0 {
		return p, fmt.Errorf("point %q needs R and S", s)
	}
	return p, nil
}

// Kinds of run.
const (
	KindNodeNode = "node→node" // (1) Node server, Node load generator
	KindNodeGo   = "node→go"   // (2) Go server, Node load generator
	KindGoGo     = "go→go"     // (3) Go server, Go load generator
	// (3') go→go with the Go server's method registered without
	// jstp.BorrowArgs, on points with large arguments (see Point.LentArgs).
	KindGoGoCopy  = "go→go copy"
	KindEcho      = "echo"   // (4) raw echo, Go to Go, no JSTP
	KindGoNodeMem = "memory" // memory runs
)

// Result is the outcome of one run.
type Result struct {
	Kind      string  `json:"kind"`
	Point     string  `json:"point"`
	Transport string  `json:"transport"` // ws, tcp, unix
	Adapter   string  `json:"adapter"`   // gorilla, gobwas, nhooyr, tcp, unix, node
	Conns     int     `json:"conns"`
	Window    int     `json:"window"`
	Calls     int     `json:"calls"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	CallsPerS float64 `json:"calls_per_s"`
	MBPerS    float64 `json:"mb_per_s"` // argument bytes carried per second, 1 MB = 1e6 B
	MeanMs    float64 `json:"mean_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	ServerCPU float64 `json:"server_cpu"` // CPU seconds per wall second of the server process
	ClientCPU float64 `json:"client_cpu"` // same for the load generator process(es)
	// ServerSleeps is how often, per call, a thread of the server process
	// went to sleep (voluntary context switches, summed over its
	// threads): each of those sleeps is a wake-up that a peer's write or
	// another thread pays for.
	ServerSleeps float64 `json:"server_sleeps_per_call"`
	ClientSleeps float64 `json:"client_sleeps_per_call"` // same for the load generator process(es)
	Err          string  `json:"error,omitempty"`
	// Repeats holds the calls/s of every repetition of the run, in the
	// order they ran, when it ran more than once (Config.Repeat); the
	// other fields are those of the median one.
	Repeats []float64 `json:"repeats,omitempty"`
}

// median returns the repetition with the median calls/s (the lower of the
// two middle ones for an even count), with Repeats filled in; a failed
// repetition is returned instead, so that failures are reported.
func median(rs []Result) Result {
	var calls []float64
	for _, r := range rs {
		calls = append(calls, r.CallsPerS)
	}
	for _, r := range rs {
		if r.Err != "" || r.Errors > 0 {
			r.Repeats = calls
			return r
		}
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b Result) int { return cmp.Compare(a.CallsPerS, b.CallsPerS) })
	m := sorted[(len(sorted)-1)/2]
	if len(rs) > 1 {
		m.Repeats = calls
	}
	return m
}

// Name identifies the run in tables.
func (r *Result) Name() string { return r.Kind + " " + r.Adapter }

// fill computes the derived fields from latencies (nanoseconds) and the
// wall time.
func (r *Result) fill(lat []int64, wall time.Duration, size int) {
	r.Calls = len(lat)
	r.Seconds = wall.Seconds()
	if r.Seconds > 0 {
		r.CallsPerS = float64(len(lat)) / r.Seconds
		r.MBPerS = float64(len(lat)) * float64(size) / r.Seconds / 1e6
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	var sum float64
	for _, v := range lat {
		sum += float64(v)
	}
	r.MeanMs = sum / float64(len(lat)) / 1e6
	r.P50Ms = float64(quantile(lat, 0.50)) / 1e6
	r.P99Ms = float64(quantile(lat, 0.99)) / 1e6
}

func quantile(sorted []int64, q float64) int64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
