package gorilla_test

import (
	"testing"

	"github.com/jstp-go/jstp/adapters/gorilla/gorillatest"
	"github.com/jstp-go/jstp/conformance"
)

// TestConformance runs the protocol conformance suite over this adapter,
// client and server alike.
func TestConformance(t *testing.T) {
	conformance.Run(t, gorillatest.Factory())
}
