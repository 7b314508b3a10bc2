package gobwas_test

import (
	"testing"

	"github.com/jstp-go/jstp/adapters/gobwas/gobwastest"
	"github.com/jstp-go/jstp/conformance"
)

// TestConformance runs the whole suite with a gobwas client against a
// gobwas (epoll-driven) server.
func TestConformance(t *testing.T) {
	conformance.Run(t, gobwastest.Factory())
}
