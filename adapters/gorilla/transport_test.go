package gorilla

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestTransport runs the transport and SendBatch tests this adapter shares
// with nhooyr (see wstest.Adapter); each is a subtest named after it.
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
			{Name: "4 MiB write buffer", Config: &Config{Dialer: &websocket.Dialer{WriteBufferSize: 4 << 20}}},
		},
		// gorilla refuses a frame over the read limit from its header.
		WholeOversizeFrames: false,
		RefuseSubprotocol: func(w http.ResponseWriter, r *http.Request) {
			up := websocket.Upgrader{} // agrees to no subprotocol
			if ws, err := up.Upgrade(w, r, nil); err == nil {
				ws.Close()
			}
		},
		LocalAddr:       func(tr jstp.Transport) net.Addr { return tr.(*transport).ws.LocalAddr() },
		SetWriteTimeout: func(tr jstp.Transport, d time.Duration) { tr.(*transport).writeTimeout = d },
		Corked:          func(tr jstp.Transport) bool { return tr.(*transport).cork != nil },
	}
}

// tlsClientConfig trusts pool for wss://.
func tlsClientConfig(pool *x509.CertPool) *Config {
	return &Config{Dialer: &websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// countingClientConfig counts the writes to the TCP connections it dials.
func countingClientConfig(writes *atomic.Int64) *Config {
	var d net.Dialer
	return &Config{Dialer: &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wstest.CountConn{Conn: c, Writes: writes}, nil
		},
	}}
}
