package bench

import (
	"context"
	"net"

	"github.com/jstp-go/jstp/adapters/tcp"
	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	serve := func(opts jstp.ServerOptions, l net.Listener) (func(context.Context) error, error) {
		s, err := tcp.NewServer(opts, nil)
		if err != nil {
			return nil, err
		}
		go s.Serve(l)
		return s.Shutdown, nil
	}
	dial := func(addr string, local net.IP) jstp.Dialer {
		return tcp.Dialer(&tcp.Config{Dialer: netDialer(local)}, addr)
	}
	register(&Adapter{Name: "tcp", Transport: "tcp", ServeJSTP: serve, Dial: dial,
		ServeEcho: socketEchoServe, DialEcho: socketEchoDial})
	register(&Adapter{Name: "unix", Transport: "unix", ServeJSTP: serve,
		Dial:      func(addr string, _ net.IP) jstp.Dialer { return tcp.Dialer(nil, addr) },
		ServeEcho: socketEchoServe, DialEcho: socketEchoDial})
}
