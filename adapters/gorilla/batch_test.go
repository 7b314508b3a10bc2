package gorilla

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
)

// The SendBatch tests are shared with the other corking adapter: see
// wstest.BatchAdapter.

// batchAdapter describes this adapter to the shared SendBatch tests.
func batchAdapter() wstest.BatchAdapter {
	return wstest.BatchAdapter{
		Subprotocol:  Subprotocol,
		MaxFrameSize: MaxFrameSize,
		ServeOn: func(t testing.TB, l net.Listener, tlsCfg *tls.Config) *wstest.FakeEngine {
			var cfg *ServerConfig
			if tlsCfg != nil {
				cfg = &ServerConfig{TLSConfig: tlsCfg}
			}
			return serveOn(t, l, cfg)
		},
		Dial: func(t testing.TB, url string, roots *x509.CertPool, writes *atomic.Int64) (jstp.Transport, *wstest.Recorder) {
			var config *Config
			switch {
			case roots != nil && writes != nil:
				t.Fatal("batchAdapter: TLS and write counting together are not supported")
			case roots != nil:
				config = tlsClientConfig(roots)
			case writes != nil:
				config = countingClientConfig(writes)
			}
			return dial(t, url, config)
		},
		Corked: func(tr jstp.Transport) bool { return tr.(*transport).cork != nil },
	}
}

// serveOn serves a fake engine on l until the test ends.
func serveOn(t testing.TB, l net.Listener, cfg *ServerConfig) *wstest.FakeEngine {
	t.Helper()
	_, eng := wstest.ServeOn(t, l, func(eng *wstest.FakeEngine) *Server { return newServer(eng, true, cfg) })
	return eng
}

// TestSendBatch: a batch arrives as separate messages, in order, both
// ways, over ws and wss.
func TestSendBatch(t *testing.T) { batchAdapter().CheckSendBatch(t) }

// TestBatchFrames: a batch of short messages leaves in one write to the
// TCP connection, and longer messages in a batch are still fragmented at
// MaxFrameSize.
func TestBatchFrames(t *testing.T) { batchAdapter().CheckBatchFrames(t) }

// TestSendBatchCloseConcurrent: Close during batches ends them cleanly.
func TestSendBatchCloseConcurrent(t *testing.T) { batchAdapter().CheckSendBatchCloseConcurrent(t) }

// TestBatchControlFrames: a ping is answered and the closing handshake
// completes while the transport keeps sending batches.
func TestBatchControlFrames(t *testing.T) { batchAdapter().CheckBatchControlFrames(t) }

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
