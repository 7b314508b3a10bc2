//go:build jstpbench_gobwas

package bench

import (
	"context"
	"net"

	"github.com/jstp-go/jstp/adapters/gobwas"
	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register(&Adapter{
		Name:      "gobwas",
		Transport: "ws",
		Note:      "Go load generator dials with the gorilla adapter's client",
		ServeJSTP: func(opts jstp.ServerOptions, l net.Listener) (func(context.Context) error, error) {
			s, err := gobwas.NewServer(opts, nil)
			if err != nil {
				return nil, err
			}
			go s.Serve(l)
			return s.Shutdown, nil
		},
		Dial:      gorillaDial,
		ServeEcho: gobwasEchoServe,
		DialEcho:  gobwasEchoDial,
	})
}
