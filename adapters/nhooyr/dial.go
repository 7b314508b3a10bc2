package nhooyr

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"sync"

	"github.com/coder/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	jstp "github.com/jstp-go/jstp/core"
)

// Config is the client side's WebSocket settings: the library's own
// websocket.DialOptions (HTTP client with its TLS config and proxy, headers,
// Host, ping and pong callbacks), passed through. nil uses the library's
// defaults. The options are copied, not modified; in the copy Subprotocols
// is always just metarhia-jstp and compression is off (the reference does
// not compress, and the library sends a compressed message as a single
// frame, which could exceed MaxFrameSize).
type Config = websocket.DialOptions

// Dialer returns a jstp.Dialer that opens a WebSocket connection to url
// (ws:// or wss://) with config, offering the metarhia-jstp subprotocol.
// Connect and Reconnect use it; a custom jstp.Reconnector can use it to
// redial, or to switch to another adapter's Dialer.
func Dialer(config *Config, url string) jstp.Dialer {
	var opts websocket.DialOptions
	if config != nil {
		opts = *config
		opts.HTTPHeader = config.HTTPHeader.Clone()
	}
	opts.Subprotocols = []string{Subprotocol}
	opts.CompressionMode = websocket.CompressionDisabled
	return func(ctx context.Context) (jstp.Transport, error) {
		o := opts
		capture, cleanup := captureConn(&o)
		c, resp, err := websocket.Dial(ctx, url, &o)
		cleanup()
		if err != nil {
			if resp != nil {
				return nil, fmt.Errorf("nhooyr: dial %s: %w (HTTP %s)", url, err, resp.Status)
			}
			return nil, fmt.Errorf("nhooyr: dial %s: %w", url, err)
		}
		if c.Subprotocol() != Subprotocol {
			c.CloseNow()
			return nil, fmt.Errorf("nhooyr: dial %s: server did not accept the %s subprotocol", url, Subprotocol)
		}
		conn, cork := capture()
		var remote net.Addr
		if conn != nil {
			remote = conn.RemoteAddr()
		} else if u, err := neturl.Parse(url); err == nil {
			remote = peerAddr(u.Host)
		} else {
			remote = peerAddr(url)
		}
		t := newTransport(c, conn, cork, remote, nil)
		// The upgraded connection is read through net/http's body, which
		// reads the connection DialContext returned (the wrapper; under
		// TLS for wss://) once the bytes buffered with the response are
		// used up: the wrapper sees every read from the network.
		t.readsBatches = cork != nil
		return t, nil
	}
}

// captureConn arranges for o's HTTP client to wrap the connection it dials
// in a cork.Conn, which the library then writes through (directly for
// ws://, under the HTTP client's TLS for wss://), and to record it, so the
// transport can batch, knows the real peer address and can sever the
// connection. It works on a copy of an *http.Transport (the default
// included); with another kind of RoundTripper nothing is captured. A
// connection from a custom DialTLSContext that is a *tls.Conn is recorded
// but not wrapped: the HTTP client must see it is TLS (no batching then).
// capture returns the last connection dialed and its cork.Conn, if any;
// cleanup drops the copy's idle connections (the upgraded one is no longer
// the copy's).
func captureConn(o *websocket.DialOptions) (capture func() (net.Conn, *cork.Conn), cleanup func()) {
	hc := http.DefaultClient
	if o.HTTPClient != nil {
		hc = o.HTTPClient
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		return func() (net.Conn, *cork.Conn) { return nil, nil }, func() {}
	}
	tr := base.Clone()
	var (
		mu       sync.Mutex
		last     net.Conn
		lastCork *cork.Conn
	)
	record := func(c net.Conn, err error) (net.Conn, error) {
		if err != nil {
			return c, err
		}
		var cc *cork.Conn
		if _, isTLS := c.(*tls.Conn); !isTLS {
			cc = cork.New(c)
		}
		mu.Lock()
		last, lastCork = c, cc
		mu.Unlock()
		if cc != nil {
			return cc, nil
		}
		return c, nil
	}
	dial := tr.DialContext
	if dial == nil {
		if tr.Dial != nil { //nolint:staticcheck // honour a user's legacy Dial
			legacy := tr.Dial //nolint:staticcheck
			dial = func(_ context.Context, network, addr string) (net.Conn, error) { return legacy(network, addr) }
		} else {
			var d net.Dialer
			dial = d.DialContext
		}
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return record(dial(ctx, network, addr))
	}
	if tlsDial := tr.DialTLSContext; tlsDial != nil {
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return record(tlsDial(ctx, network, addr))
		}
	}
	client := *hc
	client.Transport = tr
	o.HTTPClient = &client
	return func() (net.Conn, *cork.Conn) {
			mu.Lock()
			defer mu.Unlock()
			return last, lastCork
		}, func() {
			tr.CloseIdleConnections()
		}
}
