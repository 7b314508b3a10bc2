package bench

import (
	"bufio"
	"os/exec"
	"strconv"
	"testing"
)

func TestVoluntarySwitches(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
	}{
		{"status", "Name:\tx\nThreads:\t1\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n", 1234},
		// The other counter's name ends with this one's: only a line
		// that starts with it counts.
		{"involuntary first", "nonvoluntary_ctxt_switches:\t56\nvoluntary_ctxt_switches:  7\n", 7},
		{"no trailing newline", "voluntary_ctxt_switches:\t9", 9},
		{"absent", "Name:\tx\nnonvoluntary_ctxt_switches:\t56\n", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := voluntarySwitches([]byte(tt.status)); got != tt.want {
				t.Errorf("voluntarySwitches = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReadUsage: a child that has waited for its own children shows
// those sleeps in its usage.
func TestReadUsage(t *testing.T) {
	// The shell sleeps in wait(2) for each /bin/true, says so, and then
	// waits for its standard input to close.
	cmd := exec.Command("sh", "-c", "for i in 1 2 3 4 5; do /bin/true; done; echo ready; exec cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if u := readUsage(strconv.Itoa(cmd.Process.Pid)); u.sleeps < 5 {
		t.Errorf("the child slept %d times, want at least 5 (one wait per child)", u.sleeps)
	}
	if missing := readUsage("0"); missing != (usage{}) {
		t.Errorf("usage of a process that does not exist: %+v", missing)
	}
}
