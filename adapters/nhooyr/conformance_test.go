package nhooyr_test

import (
	"testing"

	"github.com/jstp-go/jstp/adapters/nhooyr/nhooyrtest"
	"github.com/jstp-go/jstp/conformance"
)

// TestConformance runs the protocol conformance suite over this adapter,
// client and server alike.
func TestConformance(t *testing.T) {
	conformance.Run(t, nhooyrtest.Factory())
}
