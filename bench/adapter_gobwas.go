package bench

import (
	"context"
	"net"

	"github.com/gobwas/ws"
	"github.com/jstp-go/jstp/adapters/gobwas"
	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register(&Adapter{
		Name:      "gobwas",
		Transport: "ws",
		ServeJSTP: func(opts jstp.ServerOptions, l net.Listener) (func(context.Context) error, error) {
			s, err := gobwas.NewServer(opts, nil)
			if err != nil {
				return nil, err
			}
			go s.Serve(l)
			return s.Shutdown, nil
		},
		Dial: func(addr string, local net.IP) jstp.Dialer {
			nd := netDialer(local)
			return gobwas.Dialer(&gobwas.Config{Dialer: ws.Dialer{
				NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return nd.DialContext(ctx, network, addr)
				},
			}}, addr)
		},
		ServeEcho: gobwasEchoServe,
		DialEcho:  gobwasEchoDial,
	})
}
