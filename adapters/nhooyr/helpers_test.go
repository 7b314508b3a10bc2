package nhooyr

import (
	"testing"

	"github.com/jstp-go/jstp/adapters/internal/wstest"
)

// The recorder, fake engine and raw WebSocket peer the tests use are in
// wstest, shared with the other adapters.

const waitLimit = wstest.WaitLimit

// startServer serves a fake engine on a fresh 127.0.0.1 port until the test
// ends, and returns the server, the engine and the ws:// URL.
func startServer(t testing.TB, cfg *ServerConfig) (*Server, *wstest.FakeEngine, string) {
	t.Helper()
	return wstest.StartServer(t, func(eng *wstest.FakeEngine) *Server { return newServer(eng, true, cfg) })
}

// dial opens a client transport to url and starts it with a recorder.
func dial(t testing.TB, url string, config *Config) (*transport, *wstest.Recorder) {
	t.Helper()
	tr, rec := wstest.Dial(t, Dialer(config, url))
	return tr.(*transport), rec
}
