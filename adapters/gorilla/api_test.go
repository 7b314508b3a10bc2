package gorilla_test

import (
	"context"
	"testing"

	"github.com/jstp-go/jstp/adapters/gorilla"
	"github.com/jstp-go/jstp/adapters/internal/wstest"
	jstp "github.com/jstp-go/jstp/core"
)

func TestConnectAndInspect(t *testing.T) {
	wstest.CheckConnectAndInspect(t,
		func(opts jstp.ServerOptions) (*gorilla.Server, error) { return gorilla.NewServer(opts, nil) },
		func(ctx context.Context, app string, interfaces []string, url string) (*jstp.Connection, map[string]*jstp.RemoteProxy, error) {
			return gorilla.ConnectAndInspect(ctx, app, nil, interfaces, nil, url)
		})
}
