package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// find returns the result of a kind for a point and adapter (for Node
// runs, the adapter is "node <transport>").
func (rep *Report) find(kind, point, adapter string) *Result {
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Kind == kind && r.Point == point && r.Adapter == adapter && r.Err == "" && r.Calls > 0 {
			return r
		}
	}
	return nil
}

// Ratio compares runs of one point and adapter in the same run.
type Ratio struct {
	Point   string
	Adapter string
	// GoVsEcho is go→go calls/s over the raw echo's (MB/s, the same ratio).
	GoVsEcho float64
	// GoVsNode is go→go calls/s over node→node on the same transport.
	GoVsNode float64
	// P99GoVsNode is go→go p99 latency over node→node's (below 1: lower).
	P99GoVsNode float64
	// GoServerVsNode is node→go calls/s over node→node.
	GoServerVsNode float64
	// GoCopyVsEcho is GoVsEcho for "go→go copy" (0 where it did not run).
	GoCopyVsEcho float64
}

func ratio(a, b *Result, f func(*Result) float64) float64 {
	if a == nil || b == nil || f(b) == 0 {
		return 0
	}
	return f(a) / f(b)
}

func callsPerS(r *Result) float64 { return r.CallsPerS }
func p99(r *Result) float64       { return r.P99Ms }

// Ratios computes the comparisons the issue asks for.
func (rep *Report) Ratios() []Ratio {
	var out []Ratio
	for _, p := range rep.Points {
		for _, n := range rep.Adapters {
			a := adapters[n]
			gogo := rep.find(KindGoGo, p.String(), n)
			node := rep.find(KindNodeNode, p.String(), "node "+a.Transport)
			echo := rep.find(KindEcho, p.String(), n)
			out = append(out, Ratio{
				Point:          p.String(),
				Adapter:        n,
				GoVsEcho:       ratio(gogo, echo, callsPerS),
				GoVsNode:       ratio(gogo, node, callsPerS),
				P99GoVsNode:    ratio(gogo, node, p99),
				GoServerVsNode: ratio(rep.find(KindNodeGo, p.String(), n), node, callsPerS),
				GoCopyVsEcho:   ratio(rep.find(KindGoGoCopy, p.String(), n), echo, callsPerS),
			})
		}
	}
	return out
}

func fx(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

// WriteText prints the results and ratios as aligned tables.
func (rep *Report) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "point\trun\tserver\tcalls/s\tmean ms\tp50 ms\tp99 ms\tMB/s\tsrv CPU\tcli CPU\tsrv sleeps/call\tcli sleeps/call\t")
	for _, r := range rep.Results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\tERROR: %s\t\t\t\t\t\t\t\t\t\n", r.Point, r.Kind, r.Adapter, firstLine(r.Err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.3f\t%.3f\t%.3f\t%.1f\t%.2f\t%.2f\t%.3f\t%.3f\t\n",
			r.Point, r.Kind, r.Adapter, r.CallsPerS, r.MeanMs, r.P50Ms, r.P99Ms, r.MBPerS, r.ServerCPU, r.ClientCPU, r.ServerSleeps, r.ClientSleeps)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "point\tadapter\tgo/echo\tgo/node\tp99 go/node\tnode→go / node→node\tgo copy/echo\t")
	for _, x := range rep.Ratios() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.Point, x.Adapter, fx(x.GoVsEcho), fx(x.GoVsNode), fx(x.P99GoVsNode), fx(x.GoServerVsNode), fx(x.GoCopyVsEcho))
	}
	tw.Flush()
	if len(rep.Memory) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "server\tconns\tbase MiB\tidle MiB\tKiB/conn idle\tKiB/conn +10 calls\t")
		for _, m := range rep.Memory {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n", m.Server, m.Conns, float64(m.BaseKiB)/1024, float64(m.IdleKiB)/1024, m.PerConnKiB, m.PerInflightConnKiB, firstLine(m.Err))
		}
		tw.Flush()
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// WriteMarkdown writes the tables in Markdown, for docs/performance.md.
func (rep *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Run of %s, %.0f s: %s; %s; Node %s.\n\n", rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Seconds, rep.Machine, rep.Go, rep.Node)
	if rep.Command != "" {
		fmt.Fprintf(w, "Command: `%s`\n\n", rep.Command)
	}
	fmt.Fprintln(w, "Each row is the median of its repetitions (by calls/s); the last column lists the calls/s of each.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | run | server | calls/s | mean ms | p50 ms | p99 ms | MB/s | server CPU | client CPU | server sleeps per call | client sleeps per call | calls/s of each repetition |")
	fmt.Fprintln(w, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.Results {
		if r.Err != "" {
			fmt.Fprintf(w, "| %s | %s | %s | error: %s | | | | | | | | | |\n", r.Point, r.Kind, r.Adapter, strings.ReplaceAll(firstLine(r.Err), "|", "/"))
			continue
		}
		var each []string
		for _, c := range r.Repeats {
			each = append(each, fmt.Sprintf("%.0f", c))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.3f | %.3f | %.3f | %.1f | %.2f | %.2f | %.3f | %.3f | %s |\n",
			r.Point, r.Kind, r.Adapter, r.CallsPerS, r.MeanMs, r.P50Ms, r.P99Ms, r.MBPerS, r.ServerCPU, r.ClientCPU, r.ServerSleeps, r.ClientSleeps, strings.Join(each, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| point | adapter | go→go / echo | go→go / node→node | p99 go→go / node→node | node→go / node→node | go→go copy / echo |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
	for _, x := range rep.Ratios() {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", x.Point, x.Adapter, fx(x.GoVsEcho), fx(x.GoVsNode), fx(x.P99GoVsNode), fx(x.GoServerVsNode), fx(x.GoCopyVsEcho))
	}
	if len(rep.Memory) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| server | idle conns | base RSS MiB | RSS with conns MiB | KiB per idle conn | conns with 10 calls in flight | extra KiB per such conn |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
		for _, m := range rep.Memory {
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %d | %.1f |%s\n", m.Server, m.Conns, float64(m.BaseKiB)/1024, float64(m.IdleKiB)/1024, m.PerConnKiB, m.InflightConns, m.PerInflightConnKiB, mdErr(m.Err))
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range rep.Notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

func mdErr(s string) string {
	if s == "" {
		return ""
	}
	return " error: " + strings.ReplaceAll(firstLine(s), "|", "/")
}

// Save writes results.json and results.md into dir.
func (rep *Report) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return err
	}
	rep.WriteMarkdown(f)
	return f.Close()
}

// Failures lists what went wrong in the run: failed runs, calls that
// failed, memory runs that failed.
func (rep *Report) Failures() []string {
	var out []string
	for _, r := range rep.Results {
		if r.Err != "" {
			out = append(out, fmt.Sprintf("%s %s %s: %s", r.Point, r.Kind, r.Adapter, r.Err))
		} else if r.Errors > 0 {
			out = append(out, fmt.Sprintf("%s %s %s: %d calls failed", r.Point, r.Kind, r.Adapter, r.Errors))
		}
	}
	for _, m := range rep.Memory {
		if m.Err != "" {
			out = append(out, fmt.Sprintf("memory %s %d: %s", m.Server, m.Conns, m.Err))
		}
	}
	return out
}
