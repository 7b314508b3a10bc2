package jstp_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// serveOverPipes returns a Dialer that connects to srv over in-memory pipes;
// an adapter's Dialer (gorilla.Dialer, tcp.Dialer, ...) does the same over
// a network.
func serveOverPipes(srv *jstp.Server) jstp.Dialer {
	return func(context.Context) (jstp.Transport, error) {
		client, server := jstp.Pipe()
		srv.Serve(server)
		return client, nil
	}
}

func Example() {
	app := jstp.MustNewApplication("calc@1.0.0")
	app.Handle("calculator", "add", func(a, b float64) float64 { return a + b })
	app.Handle("calculator", "divide", func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, jstp.NewError(100, "division by zero")
		}
		return a / b, nil
	})
	srv, _ := jstp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, proxies, err := jstp.ConnectAndInspect(ctx, "calc@^1.0.0", nil, serveOverPipes(srv), "calculator")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	calc := proxies["calculator"]
	fmt.Println(calc.Methods())
	sum, _ := calc.Call(ctx, "add", 2, 3)
	fmt.Println(sum)
	_, err = calc.Call(ctx, "divide", 1, 0)
	var rerr *jstp.RemoteError
	if errors.As(err, &rerr) {
		fmt.Println(rerr.Code, rerr.Message)
	}
	// Output:
	// [add divide]
	// [5]
	// 100 division by zero
}

func ExampleServer_Broadcast() {
	app := jstp.MustNewApplication("news")
	srv, _ := jstp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}})
	defer srv.Close()

	// The client hears events through its own application's handlers.
	heard := make(chan []any, 1)
	clientApp := jstp.MustNewApplication("client")
	clientApp.On("news", "headline", func(_ *jstp.Connection, args []any) { heard <- args })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := jstp.Connect(ctx, "news", &jstp.Client{Application: clientApp}, serveOverPipes(srv))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	srv.Broadcast("news", "headline", "JSTP in Go", 2026)
	fmt.Println(<-heard)
	// Output: [JSTP in Go 2026]
}

func ExampleAuthFunc() {
	app := jstp.MustNewApplication("vault")
	app.Handle("vault", "whoami", func(c *jstp.Connection) string { return c.Username() })
	srv, _ := jstp.NewServer(jstp.ServerOptions{
		Applications: []*jstp.Application{app},
		AuthPolicy: jstp.AuthFunc(func(_ context.Context, _ *jstp.Connection, _ *jstp.Application, strategy string, cred []any) (string, error) {
			if strategy == "login" && len(cred) == 2 && cred[0] == "alice" && cred[1] == "secret" {
				return "alice", nil
			}
			return "", jstp.ErrAuthFailed
		}),
	})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := jstp.Connect(ctx, "vault", &jstp.Client{Login: "alice", Password: "wrong"}, serveOverPipes(srv))
	fmt.Println(errors.Is(err, jstp.ErrAuthFailed))
	conn, _ := jstp.Connect(ctx, "vault", &jstp.Client{Login: "alice", Password: "secret"}, serveOverPipes(srv))
	defer conn.Close()
	who, _ := conn.Call(ctx, "vault", "whoami")
	fmt.Println(who)
	// Output:
	// true
	// [alice]
}

func ExampleReconnectorFunc() {
	app := jstp.MustNewApplication("counter")
	app.Handle("counter", "next", func(c *jstp.Connection) float64 {
		s := c.Session() // per-session state survives a resumption
		n, _ := s.Get("n")
		v, _ := n.(float64)
		s.Set("n", v+1)
		return v + 1
	})
	resumed := make(chan struct{}, 1)
	srv, _ := jstp.NewServer(jstp.ServerOptions{
		Applications: []*jstp.Application{app},
		OnReconnect:  func(*jstp.Connection) { resumed <- struct{}{} },
	})
	defer srv.Close()

	// The dialer remembers its last pipe so that the example can cut it.
	var last *jstp.PipeEnd
	dial := func(context.Context) (jstp.Transport, error) {
		client, server := jstp.Pipe()
		srv.Serve(server)
		last = client
		return client, nil
	}
	// Retry at once, over the same dialer (a real one might pick another
	// address, or another adapter's Dialer).
	retry := jstp.ReconnectorFunc(func(_ *jstp.Connection, attempt int, _ error) (time.Duration, jstp.Dialer, bool) {
		return 0, nil, attempt < 5
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := jstp.Connect(ctx, "counter", &jstp.Client{Reconnector: retry}, dial)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	first, _ := conn.Call(ctx, "counter", "next")
	last.Break() // the network fails
	<-resumed
	second, _ := conn.Call(ctx, "counter", "next")
	fmt.Println(first, second)
	// Output: [1] [2]
}

// A method that only reads its arguments (here: hashes an upload) can
// borrow them: large calls then reuse pooled memory instead of allocating a
// fresh string each. What it keeps must be copied (strings.Clone).
func ExampleBorrowArgs() {
	app := jstp.MustNewApplication("store")
	var last string // what the method keeps: a copy
	app.Handle("blobs", "put", func(name, data string) string {
		last = strings.Clone(name)
		return fmt.Sprintf("%x", sha256.Sum256([]byte(data)))[:16]
	}, jstp.BorrowArgs())
	srv, _ := jstp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := jstp.Connect(ctx, "store", nil, serveOverPipes(srv))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	sum, err := conn.Call(ctx, "blobs", "put", "a.txt", strings.Repeat("jstp ", 20000))
	fmt.Println(sum, err, last)
	// Output:
	// [ded2afc52ad51742] <nil> a.txt
}
