package conformance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	jstp "github.com/jstp-go/jstp/core"
)

// pipeRegistry maps the "pipe://N" addresses PipeFactory hands out to the
// servers listening on them.
var (
	pipeMu      sync.Mutex
	pipeServers = map[string]*jstp.Server{}
	pipeNext    atomic.Int64
)

// PipeFactory returns a Factory over the in-memory pipe of package jstp
// (jstp.Pipe): Listen registers the server under a fresh "pipe://N"
// address until the test ends, Dial creates a pipe, serves one end with
// the server and returns the other, and Break severs the pipe with
// PipeEnd.Break. It is the smallest complete Factory, and a model for
// writing one:
//
//	conformance.Run(t, conformance.PipeFactory())
func PipeFactory() Factory {
	return Factory{
		Listen: func(t testing.TB, srv *jstp.Server) string {
			addr := fmt.Sprintf("pipe://%d", pipeNext.Add(1))
			pipeMu.Lock()
			pipeServers[addr] = srv
			pipeMu.Unlock()
			t.Cleanup(func() {
				pipeMu.Lock()
				delete(pipeServers, addr)
				pipeMu.Unlock()
			})
			return addr
		},
		Dial: func(ctx context.Context, addr string) (jstp.Transport, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pipeMu.Lock()
			srv := pipeServers[addr]
			pipeMu.Unlock()
			if srv == nil {
				return nil, fmt.Errorf("conformance: nothing listens on %s", addr)
			}
			client, server := jstp.Pipe()
			srv.Serve(server)
			return client, nil
		},
		Break: func(tr jstp.Transport) {
			tr.(*jstp.PipeEnd).Break()
		},
	}
}
