package nhooyr_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jstp-go/jstp/adapters/nhooyr"
	jstp "github.com/jstp-go/jstp/core"
)

func ExampleConnect() {
	// A server with one application, on a random local port.
	app := jstp.MustNewApplication("calc@1.0.0")
	app.Handle("calculator", "add", func(a, b int) int { return a + b })
	srv, err := nhooyr.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	// A client calling it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := nhooyr.Connect(ctx, "calc", nil, nil, "ws://"+l.Addr().String()+"/")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	res, err := conn.Call(ctx, "calculator", "add", 2, 3)
	fmt.Println(res, err)
	// Output: [5] <nil>
}
