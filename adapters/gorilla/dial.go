package gorilla

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/internal/cork"
	jstp "github.com/jstp-go/jstp/core"
)

// Config is the client side's WebSocket settings, passed through to
// gorilla. nil, or a zero Config, uses gorilla's defaults.
type Config struct {
	// Dialer is gorilla's dialer: proxy, TLS client config, handshake
	// timeout, buffer sizes, cookie jar and so on. nil: the settings of
	// websocket.DefaultDialer. The Dialer is copied, not modified; in the
	// copy, Subprotocols is always just metarhia-jstp, and a WriteBufferSize
	// over MaxFrameSize is lowered to it.
	Dialer *websocket.Dialer

	// Header is sent with the upgrade request (Origin, cookies,
	// authorization for a proxy in front of the server, ...).
	Header http.Header
}

// Dialer returns a jstp.Dialer that opens a WebSocket connection to url
// (ws:// or wss://) with config, offering the metarhia-jstp subprotocol.
// Connect and Reconnect use it; a custom jstp.Reconnector can use it to
// redial, or to switch to another adapter's Dialer.
func Dialer(config *Config, url string) jstp.Dialer {
	var d websocket.Dialer
	var header http.Header
	if config != nil {
		if config.Dialer != nil {
			d = *config.Dialer
		} else {
			d = *websocket.DefaultDialer
		}
		header = config.Header.Clone()
	} else {
		d = *websocket.DefaultDialer
	}
	d.Subprotocols = []string{Subprotocol}
	d.WriteBufferSize = clampWriteBuffer(d.WriteBufferSize)
	return func(ctx context.Context) (jstp.Transport, error) {
		d := d
		cork := corkDials(&d)
		ws, resp, err := d.DialContext(ctx, url, header)
		if err != nil {
			if resp != nil {
				return nil, fmt.Errorf("gorilla: dial %s: %w (HTTP %s)", url, err, resp.Status)
			}
			return nil, fmt.Errorf("gorilla: dial %s: %w", url, err)
		}
		if ws.Subprotocol() != Subprotocol {
			ws.Close()
			return nil, fmt.Errorf("gorilla: dial %s: server did not accept the %s subprotocol", url, Subprotocol)
		}
		return newTransport(ws, *cork, nil), nil
	}
}

// corkDials makes d's dial functions wrap the connections they open in a
// cork.Conn, which gorilla then writes through (directly for ws://, under
// its TLS for wss://), and returns where the last one is recorded. A
// proxy's dialer dials through them too. d.NetDial (deprecated) becomes a
// NetDialContext that ignores the context, as gorilla would.
func corkDials(d *websocket.Dialer) **cork.Conn {
	var last *cork.Conn
	wrap := func(c net.Conn, err error) (net.Conn, error) {
		if err != nil {
			return nil, err
		}
		last = cork.New(c)
		return last, nil
	}
	dial := d.NetDialContext
	if dial == nil {
		if legacy := d.NetDial; legacy != nil {
			dial = func(_ context.Context, network, addr string) (net.Conn, error) { return legacy(network, addr) }
		} else {
			var nd net.Dialer
			dial = nd.DialContext
		}
	}
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return wrap(dial(ctx, network, addr))
	}
	if tlsDial := d.NetDialTLSContext; tlsDial != nil {
		d.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return wrap(tlsDial(ctx, network, addr))
		}
	}
	return &last
}
