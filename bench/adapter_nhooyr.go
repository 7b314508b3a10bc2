package bench

import (
	"context"
	"net"
	"net/http"

	"github.com/jstp-go/jstp/adapters/nhooyr"
	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register(&Adapter{
		Name:      "nhooyr",
		Transport: "ws",
		ServeJSTP: func(opts jstp.ServerOptions, l net.Listener) (func(context.Context) error, error) {
			s, err := nhooyr.NewServer(opts, nil)
			if err != nil {
				return nil, err
			}
			go s.Serve(l)
			return s.Shutdown, nil
		},
		Dial: func(addr string, local net.IP) jstp.Dialer {
			cl := &http.Client{Transport: &http.Transport{DialContext: netDialer(local).DialContext}}
			return nhooyr.Dialer(&nhooyr.Config{HTTPClient: cl}, addr)
		},
		ServeEcho: coderEchoServe,
		DialEcho:  coderEchoDial,
	})
}
