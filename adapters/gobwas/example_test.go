package gobwas_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jstp-go/jstp/adapters/gobwas"
	jstp "github.com/jstp-go/jstp/core"
)

func ExampleConnect() {
	// A server with one application, on a random local port. Its idle
	// connections are watched by epoll: no goroutine each.
	app := jstp.MustNewApplication("calc@1.0.0")
	app.Handle("calculator", "add", func(a, b int) int { return a + b })
	srv, err := gobwas.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
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
	conn, err := gobwas.Connect(ctx, "calc", nil, nil, "ws://"+l.Addr().String()+"/")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	res, err := conn.Call(ctx, "calculator", "add", 2, 3)
	fmt.Println(res, err)
	// Output: [5] <nil>
}

func ExampleConnectAndInspect() {
	app := jstp.MustNewApplication("greeter")
	app.Handle("greeter", "hello", func(name string) string { return "hello, " + name })
	srv, err := gobwas.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, proxies, err := gobwas.ConnectAndInspect(ctx, "greeter", nil, []string{"greeter"}, nil, "ws://"+l.Addr().String()+"/")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	res, err := proxies["greeter"].Call(ctx, "hello", "world")
	fmt.Println(res, err)
	// Output: [hello, world] <nil>
}

func ExampleServer_ServeHTTP() {
	app := jstp.MustNewApplication("calc")
	app.Handle("calculator", "neg", func(a int) int { return -a })
	srv, err := gobwas.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
	if err != nil {
		panic(err)
	}
	// The JSTP endpoint next to other handlers of a net/http server.
	mux := http.NewServeMux()
	mux.Handle("/jstp", srv)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(l)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := gobwas.Connect(ctx, "calc", nil, nil, "ws://"+l.Addr().String()+"/jstp")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	res, err := conn.Call(ctx, "calculator", "neg", 7)
	fmt.Println(res, err)
	// Output: [-7] <nil>
}
