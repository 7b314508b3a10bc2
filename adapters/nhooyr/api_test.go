package nhooyr_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/nhooyr"
	jstp "github.com/jstp-go/jstp/core"
)

func TestConnectAndInspect(t *testing.T) {
	app := jstp.MustNewApplication("calc@1.0.0")
	if err := app.Handle("calculator", "add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	srv, err := nhooyr.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { srv.Serve(l); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
	})
	url := "ws://" + l.Addr().String() + "/"

	tests := []struct {
		name       string
		interfaces []string
		wantErr    bool
	}{
		{"known interface", []string{"calculator"}, false},
		{"one unknown", []string{"calculator", "nope"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, proxies, err := nhooyr.ConnectAndInspect(ctx, "calc", nil, tc.interfaces, nil, url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if conn == nil {
				t.Fatal("no connection returned")
			}
			defer func() { conn.Close(); <-conn.Done() }()
			if proxies["calculator"] == nil {
				t.Fatal("no proxy for calculator")
			}
			res, err := proxies["calculator"].Call(ctx, "add", 2, 3)
			if err != nil || len(res) != 1 || res[0] != 5.0 {
				t.Fatalf("add: %v %v", res, err)
			}
			if srv.JSTP() == nil || len(srv.JSTP().Clients()) == 0 {
				t.Fatalf("server clients: %v", srv.JSTP().Clients())
			}
		})
	}
}
