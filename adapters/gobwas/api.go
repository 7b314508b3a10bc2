package gobwas

import (
	"context"

	jstp "github.com/jstp-go/jstp/core"
)

// Connect opens a WebSocket connection to url (ws:// or wss://) and
// connects to the application app ("name" or "name@range") over it as
// client (nil: the defaults). config holds the library's dialer settings
// (nil: defaults). It is the seed's ws.connect.
func Connect(ctx context.Context, app string, client *jstp.Client, config *Config, url string) (*jstp.Connection, error) {
	return jstp.Connect(ctx, app, client, Dialer(config, url))
}

// ConnectAndInspect is Connect followed by inspecting each of interfaces;
// it returns a proxy per interface. When an inspection fails, the
// connection is still returned, usable, together with the error. It is the
// seed's ws.connectAndInspect.
func ConnectAndInspect(ctx context.Context, app string, client *jstp.Client, interfaces []string, config *Config, url string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
	return jstp.ConnectAndInspect(ctx, app, client, Dialer(config, url), interfaces...)
}

// Reconnect resumes conn, with the same session, over a new WebSocket
// connection to url; conn may have started over any adapter. It is the
// seed's ws.reconnect.
func Reconnect(ctx context.Context, conn *jstp.Connection, config *Config, url string) error {
	return conn.Reconnect(ctx, Dialer(config, url))
}

// Dialer returns a jstp.Dialer that opens a new connection to url with
// config each time it is called (the first connection and every
// reconnection).
func Dialer(config *Config, url string) jstp.Dialer {
	return func(ctx context.Context) (jstp.Transport, error) {
		t, err := Dial(ctx, config, url)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// NewServer creates a jstp.Server from opts and a Server that serves it
// over WebSocket with cfg (nil: defaults). It is the seed's
// ws.createServer. Shutting the Server down shuts the jstp.Server down too.
func NewServer(opts jstp.ServerOptions, cfg *ServerConfig) (*Server, error) {
	srv, err := jstp.NewServer(opts)
	if err != nil {
		return nil, err
	}
	return newServer(srv, true, cfg, opts.HandshakeTimeout), nil
}

// Wrap returns a Server that serves an existing jstp.Server over
// WebSocket, for example one that is also served over TCP by another
// adapter, so that a client may resume its session over either. Shutting
// the Server down ends only the connections it carries; srv stays up.
func Wrap(srv *jstp.Server, cfg *ServerConfig) *Server {
	return newServer(srv, false, cfg, 0)
}

// JSTP returns the jstp.Server this Server serves.
func (s *Server) JSTP() *jstp.Server { return s.eng.(*jstp.Server) }
