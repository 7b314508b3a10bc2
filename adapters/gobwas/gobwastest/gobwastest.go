// Package gobwastest provides the conformance.Factory of the gobwas adapter,
// for the adapter's own conformance run and for cross-adapter matrices
// (a gobwas client against another adapter's server, and the other way
// round). It is test support: production code has no use for it.
package gobwastest

import (
	"context"
	"testing"

	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	"github.com/jstp-go/jstp/conformance"
	jstp "github.com/jstp-go/jstp/core"
)

var factory = wstest.Factory("gobwastest",
	func(srv *jstp.Server) wstest.Server { return gobwas.Wrap(srv, nil) }, Dial)

// Factory returns the conformance.Factory of the gobwas adapter: Listen,
// Dial and Break below.
func Factory() conformance.Factory { return factory }

// Listen serves srv over WebSocket (epoll-driven) on a fresh 127.0.0.1 port until the
// test ends and returns its ws:// URL. Cleanup shuts the WebSocket server
// down, poller included, leaving srv to its owner.
func Listen(t testing.TB, srv *jstp.Server) string {
	t.Helper()
	return factory.Listen(t, srv)
}

// Dial opens a gobwas client transport to the ws:// URL addr with the
// default settings.
func Dial(ctx context.Context, addr string) (jstp.Transport, error) {
	return gobwas.Dialer(nil, addr)(ctx)
}

// Break severs tr, a transport made by Dial, without a closing handshake.
// For any other transport it falls back to Close.
func Break(tr jstp.Transport) { wstest.Break(tr) }
