package wstest

import (
	"context"
	"net"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// APIServer is an adapter's Server as CheckConnectAndInspect uses it.
type APIServer interface {
	Server
	JSTP() *jstp.Server
}

// CheckConnectAndInspect tests an adapter's NewServer and ConnectAndInspect
// together: a server (made by newServer) with a calc@1.0.0 application
// whose calculator interface adds, and clients (connected by
// connectAndInspect, with the adapter's default client settings) asking for
// known and unknown interfaces. An unknown interface must be an error that
// still returns the connection and the proxies found.
func CheckConnectAndInspect[S APIServer](t *testing.T,
	newServer func(jstp.ServerOptions) (S, error),
	connectAndInspect func(ctx context.Context, app string, interfaces []string, url string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error),
) {
	t.Helper()
	app := jstp.MustNewApplication("calc@1.0.0")
	if err := app.Handle("calculator", "add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(jstp.ServerOptions{Applications: []*jstp.Application{app}})
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
			conn, proxies, err := connectAndInspect(ctx, "calc", tc.interfaces, url)
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
