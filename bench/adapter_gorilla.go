package bench

import (
	"context"
	"net"

	gws "github.com/gorilla/websocket"
	"github.com/jstp-go/jstp/adapters/gorilla"
	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register(&Adapter{
		Name:      "gorilla",
		Transport: "ws",
		ServeJSTP: func(opts jstp.ServerOptions, l net.Listener) (func(context.Context) error, error) {
			s, err := gorilla.NewServer(opts, nil)
			if err != nil {
				return nil, err
			}
			go s.Serve(l)
			return s.Shutdown, nil
		},
		Dial:      gorillaDial,
		ServeEcho: gorillaEchoServe,
		DialEcho:  gorillaEchoDial,
	})
}

func gorillaDial(addr string, local net.IP) jstp.Dialer {
	d := *gws.DefaultDialer
	d.NetDialContext = netDialer(local).DialContext
	return gorilla.Dialer(&gorilla.Config{Dialer: &d}, addr)
}
