package gorilla

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/websocket"
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
		return newTransport(ws, nil), nil
	}
}
