package tcp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jstp-go/jstp/adapters/tcp"
	jstp "github.com/jstp-go/jstp/core"
)

// Serve an application over TCP and call it.
func Example() {
	app := jstp.MustNewApplication("calculator@1.0.0")
	app.Handle("calc", "add", func(a, b float64) float64 { return a + b })

	srv, err := tcp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := tcp.Connect(ctx, "calculator", nil, nil, "tcp://"+l.Addr().String())
	if err != nil {
		panic(err)
	}
	res, err := conn.Call(ctx, "calc", "add", 2, 3)
	fmt.Println(res, err)

	conn.Close()
	srv.Shutdown(ctx)
	// Output: [5] <nil>
}
