package tcp_test

import (
	"testing"

	"github.com/jstp-go/jstp/adapters/tcp/tcptest"
	"github.com/jstp-go/jstp/conformance"
)

func TestConformance(t *testing.T) {
	factories := []struct {
		name    string
		factory conformance.Factory
	}{
		{"tcp", tcptest.Factory()},
		{"tls", tcptest.TLSFactory()},
		{"unix", tcptest.UnixFactory()},
	}
	for _, f := range factories {
		t.Run(f.name, func(t *testing.T) {
			conformance.Run(t, f.factory)
		})
	}
}
