// Command jstp-example serves the example JSTP application over every
// transport jstp-go has — WebSocket through gorilla, gobwas and coder's
// library, plain TCP and a Unix socket — each on its own 127.0.0.1 port,
// makes one client round trip over each, prints it, and keeps serving until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jstp-go/jstp/adapters/gobwas"
	"github.com/jstp-go/jstp/adapters/gorilla"
	"github.com/jstp-go/jstp/adapters/nhooyr"
	"github.com/jstp-go/jstp/adapters/tcp"
	jstp "github.com/jstp-go/jstp/core"
	"github.com/jstp-go/jstp/example"
)

func main() {
	base := flag.Int("port", 7081, "first TCP port; the transports take consecutive ports (0: any free ports)")
	once := flag.Bool("once", false, "exit after the round trips instead of serving until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *base, *once); err != nil {
		fmt.Fprintln(os.Stderr, "jstp-example:", err)
		os.Exit(1)
	}
}

// server is what every adapter's server offers.
type server interface {
	Serve(l net.Listener) error
	Shutdown(ctx context.Context) error
	JSTP() *jstp.Server
}

type endpoint struct {
	name    string
	network string
	url     func(addr net.Addr) string
	serve   func(opts jstp.ServerOptions) (server, error)
	connect func(ctx context.Context, url string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error)
}

func endpoints() []endpoint {
	ws := func(a net.Addr) string { return "ws://" + a.String() + "/" }
	ifaces := []string{"calculator", "chat"}
	return []endpoint{
		{"gorilla", "tcp", ws,
			func(o jstp.ServerOptions) (server, error) { return gorilla.NewServer(o, nil) },
			func(ctx context.Context, u string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
				return gorilla.ConnectAndInspect(ctx, example.AppName, nil, ifaces, nil, u)
			}},
		{"gobwas", "tcp", ws,
			func(o jstp.ServerOptions) (server, error) { return gobwas.NewServer(o, nil) },
			func(ctx context.Context, u string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
				return gobwas.ConnectAndInspect(ctx, example.AppName, nil, ifaces, nil, u)
			}},
		{"nhooyr", "tcp", ws,
			func(o jstp.ServerOptions) (server, error) { return nhooyr.NewServer(o, nil) },
			func(ctx context.Context, u string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
				return nhooyr.ConnectAndInspect(ctx, example.AppName, nil, ifaces, nil, u)
			}},
		{"tcp", "tcp", func(a net.Addr) string { return "tcp://" + a.String() },
			func(o jstp.ServerOptions) (server, error) { return tcp.NewServer(o, nil) },
			func(ctx context.Context, u string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
				return tcp.ConnectAndInspect(ctx, example.AppName, nil, ifaces, nil, u)
			}},
		{"unix", "unix", func(a net.Addr) string { return "unix://" + a.String() },
			func(o jstp.ServerOptions) (server, error) { return tcp.NewServer(o, nil) },
			func(ctx context.Context, u string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
				return tcp.ConnectAndInspect(ctx, example.AppName, nil, ifaces, nil, u)
			}},
	}
}

func run(ctx context.Context, out io.Writer, basePort int, once bool) error {
	dir, err := os.MkdirTemp("", "jstp-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var servers []server
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			s.Shutdown(sctx)
		}
	}()
	type live struct {
		ep  endpoint
		url string
	}
	var lives []live
	for i, ep := range endpoints() {
		var jsrv *jstp.Server
		opts := jstp.ServerOptions{Applications: []*jstp.Application{
			example.NewApp(func(iface, event string, args ...any) error { return jsrv.Broadcast(iface, event, args...) }),
		}}
		srv, err := ep.serve(opts)
		if err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
		jsrv = srv.JSTP()
		servers = append(servers, srv)
		addr := filepath.Join(dir, "jstp.sock")
		if ep.network == "tcp" {
			addr = "127.0.0.1:0"
			if basePort > 0 {
				addr = fmt.Sprintf("127.0.0.1:%d", basePort+i)
			}
		}
		l, err := net.Listen(ep.network, addr)
		if err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
		go srv.Serve(l)
		url := ep.url(l.Addr())
		lives = append(lives, live{ep, url})
		fmt.Fprintf(out, "%-8s serving %s at %s\n", ep.name, example.AppName, url)
	}
	for _, l := range lives {
		if err := roundTrip(ctx, out, l.ep, l.url); err != nil {
			return fmt.Errorf("%s round trip: %w", l.ep.name, err)
		}
	}
	if once {
		return nil
	}
	fmt.Fprintln(out, "serving until interrupted (Ctrl-C)")
	<-ctx.Done()
	return nil
}

func roundTrip(ctx context.Context, out io.Writer, ep endpoint, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, proxies, err := ep.connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close()
	heard := make(chan []any, 1)
	proxies["chat"].On("message", func(args []any) {
		select {
		case heard <- args:
		default:
		}
	})
	sum, err := proxies["calculator"].Call(ctx, "add", 2, 3)
	if err != nil {
		return err
	}
	if _, err := proxies["chat"].Call(ctx, "say", "hello from "+ep.name); err != nil {
		return err
	}
	select {
	case msg := <-heard:
		fmt.Fprintf(out, "%-8s client: calculator.add(2, 3) = %v; chat.message %v\n", ep.name, sum[0], msg)
	case <-ctx.Done():
		return fmt.Errorf("no chat.message event: %w", ctx.Err())
	}
	return nil
}
