package tcp

import (
	"context"
	"crypto/tls"
	"net"

	jstp "github.com/jstp-go/jstp/core"
)

// Config holds the client settings for Connect, ConnectAndInspect,
// Reconnect and Dialer. A nil *Config, or nil fields, mean the defaults.
type Config struct {
	// Dialer opens the socket (timeouts, keep-alive, local address,
	// control hooks). nil: a zero net.Dialer, bounded by the context.
	Dialer *net.Dialer

	// TLSConfig configures tls:// connections. nil: the system roots,
	// with the server name taken from the address. When ServerName is
	// empty it is taken from the address too.
	TLSConfig *tls.Config
}

// Dialer returns a jstp.Dialer that opens a new NUL-framed transport to
// addr each time it is called, for jstp.Connect or Connection.Reconnect.
// addr is "tcp://host:port", "tls://host:port", "unix:///path/to/socket"
// or a plain "host:port" (TCP). An invalid addr makes every call fail.
//
// The Dialer works with any jstp.Connection, including one first
// connected over another adapter (for example a WebSocket one): the
// session resumes over the socket.
func Dialer(config *Config, addr string) jstp.Dialer {
	ep, err := parseAddr(addr)
	if config == nil {
		config = &Config{}
	}
	d := config.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	tlsConfig := config.TLSConfig
	return func(ctx context.Context) (jstp.Transport, error) {
		if err != nil {
			return nil, err
		}
		var c net.Conn
		var derr error
		switch ep.network {
		case "tls":
			td := &tls.Dialer{NetDialer: d, Config: tlsConfig}
			c, derr = td.DialContext(ctx, "tcp", ep.address)
		default:
			c, derr = d.DialContext(ctx, ep.network, ep.address)
		}
		if derr != nil {
			return nil, derr
		}
		return NewTransport(c), nil
	}
}

// Connect opens a connection to the application app ("name",
// "name@range") served at addr and performs the JSTP handshake. client may
// be nil for the defaults; config may be nil (see Config). When the
// connection is lost, the client's reconnector dials addr again.
// It is the reference's net.connect and tls.connect.
func Connect(ctx context.Context, app string, client *jstp.Client, config *Config, addr string) (*jstp.Connection, error) {
	return jstp.Connect(ctx, app, client, Dialer(config, addr))
}

// ConnectAndInspect is Connect followed by an inspect of each interface
// named in interfaces; it returns a proxy per interface. When the
// connection succeeds but an inspect fails, it returns the usable
// connection together with the error.
func ConnectAndInspect(ctx context.Context, app string, client *jstp.Client, interfaces []string, config *Config, addr string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
	return jstp.ConnectAndInspect(ctx, app, client, Dialer(config, addr), interfaces...)
}

// Reconnect resumes conn, with its session, over a new socket to addr. conn
// may have been opened over any adapter.
func Reconnect(ctx context.Context, conn *jstp.Connection, config *Config, addr string) error {
	return conn.Reconnect(ctx, Dialer(config, addr))
}
