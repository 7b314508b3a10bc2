package bench

import (
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	run := func(calls float64, err string, failed int) Result {
		return Result{CallsPerS: calls, Err: err, Errors: failed}
	}
	tests := []struct {
		name    string
		in      []Result
		want    float64
		repeats []float64
		err     string
	}{
		{"one run", []Result{run(5, "", 0)}, 5, nil, ""},
		{"odd count", []Result{run(30, "", 0), run(10, "", 0), run(20, "", 0)}, 20, []float64{30, 10, 20}, ""},
		{"even count takes the lower middle", []Result{run(40, "", 0), run(10, "", 0), run(30, "", 0), run(20, "", 0)}, 20, []float64{40, 10, 30, 20}, ""},
		{"a failed run is reported", []Result{run(30, "", 0), run(0, "boom", 0), run(20, "", 0)}, 0, []float64{30, 0, 20}, "boom"},
		{"failed calls are reported", []Result{run(30, "", 0), run(25, "", 3), run(20, "", 0)}, 25, []float64{30, 25, 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := median(tt.in)
			if got.CallsPerS != tt.want || got.Err != tt.err || !slices.Equal(got.Repeats, tt.repeats) {
				t.Fatalf("median = %v calls/s, error %q, repeats %v; want %v, %q, %v", got.CallsPerS, got.Err, got.Repeats, tt.want, tt.err, tt.repeats)
			}
		})
	}
}
