package gobwas

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gobwas/ws"
)

// Config is the client side's settings: the library's own ws.Dialer,
// passed through (Timeout, TLSConfig for wss://, Header, NetDial, buffer
// sizes, ...). Its Protocols are replaced by the metarhia-jstp subprotocol,
// which the server must select. A nil *Config means a zero ws.Dialer.
type Config struct {
	ws.Dialer
}

// Dial opens a WebSocket connection to url (ws:// or wss://) offering the
// metarhia-jstp subprotocol and returns it as a client Transport, read by
// a goroutine of its own once started. ctx bounds the connection and the
// upgrade.
func Dial(ctx context.Context, config *Config, url string) (*Transport, error) {
	var d ws.Dialer
	if config != nil {
		d = config.Dialer
	}
	d.Protocols = []string{Subprotocol}
	nc, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("gobwas: dial %s: %w", url, err)
	}
	if hs.Protocol != Subprotocol {
		nc.Close()
		return nil, fmt.Errorf("gobwas: dial %s: server did not select subprotocol %s", url, Subprotocol)
	}
	var rest []byte
	if br != nil {
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			rest = bytes.Clone(b)
		}
		ws.PutReader(br)
	}
	return newTransport(nc, true, rest), nil
}
