package nhooyr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestTransport runs the transport and SendBatch tests this adapter shares
// with gorilla (see wstest.Adapter); each is a subtest named after it.
func TestTransport(t *testing.T) { wsAdapter().Run(t) }

// wsAdapter describes this adapter to the shared tests: how to make its
// server and client with the settings the tests vary, and how to reach
// into a transport.
func wsAdapter() wstest.Adapter[Config] {
	return wstest.Adapter[Config]{
		Subprotocol:    Subprotocol,
		MaxFrameSize:   MaxFrameSize,
		MaxMessageSize: MaxMessageSize,
		NewServer: func(eng *wstest.FakeEngine, opts wstest.ServerOptions) wstest.Server {
			return newServer(eng, true, &ServerConfig{CheckOrigin: opts.CheckOrigin, TLSConfig: opts.TLSConfig})
		},
		Dialer:         Dialer,
		TLSClient:      tlsClientConfig,
		CountingClient: countingClientConfig,
		ClientVariants: []wstest.ClientVariant[Config]{
			{Name: "compression asked for", Config: &Config{CompressionMode: websocket.CompressionContextTakeover}},
			{Name: "own HTTP client", Config: &Config{HTTPClient: &http.Client{Transport: &http.Transport{}}}},
		},
		// The library counts payload as it reads it: frames over the read
		// limit are sent whole, exactly one byte too many, so nothing is
		// left unread.
		WholeOversizeFrames: true,
		RefuseSubprotocol: func(w http.ResponseWriter, r *http.Request) {
			// Agrees to no subprotocol.
			if c, err := websocket.Accept(w, r, nil); err == nil {
				c.CloseNow()
			}
		},
		LocalAddr:       func(tr jstp.Transport) net.Addr { return tr.(*transport).netConn.LocalAddr() },
		SetWriteTimeout: func(tr jstp.Transport, d time.Duration) { tr.(*transport).writeTimeout = d },
		Corked:          func(tr jstp.Transport) bool { return tr.(*transport).cork != nil },
	}
}

// tlsClientConfig trusts pool for wss://.
func tlsClientConfig(pool *x509.CertPool) *Config {
	return &Config{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// countingClientConfig counts the writes to the TCP connections it dials.
func countingClientConfig(writes *atomic.Int64) *Config {
	var d net.Dialer
	return &Config{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wstest.CountConn{Conn: c, Writes: writes}, nil
		},
	}}}
}
