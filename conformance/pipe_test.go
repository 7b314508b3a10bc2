package conformance_test

import (
	"testing"

	"github.com/jstp-go/jstp/conformance"
)

// TestPipe runs the whole suite over the in-memory pipe.
func TestPipe(t *testing.T) {
	conformance.Run(t, conformance.PipeFactory())
}
