package nhooyr_test

import (
	"context"
	"testing"

	"github.com/jstp-go/jstp/adapters/internal/wstest"
	"github.com/jstp-go/jstp/adapters/nhooyr"
	jstp "github.com/jstp-go/jstp/core"
)

func TestConnectAndInspect(t *testing.T) {
	wstest.CheckConnectAndInspect(t,
		func(opts jstp.ServerOptions) (*nhooyr.Server, error) { return nhooyr.NewServer(opts, nil) },
		func(ctx context.Context, app string, interfaces []string, url string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
			return nhooyr.ConnectAndInspect(ctx, app, nil, interfaces, nil, url)
		})
}
