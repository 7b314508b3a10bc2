package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunOnce serves over every transport on free ports and checks each
// client round trip is printed.
func TestRunOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, 0, true); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, ep := range endpoints() {
		want := ep.name + " client: calculator.add(2, 3) = 5; chat.message [anonymous hello from " + ep.name + "]"
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
