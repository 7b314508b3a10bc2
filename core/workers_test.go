package jstp

import (
	"context"
	"testing"
	"time"
)

// Sequential calls reuse one worker instead of a goroutine each.
func TestWorkersAreReused(t *testing.T) {
	srv, dial := testServer(t, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "testApp", nil, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 100; i++ {
		if _, err := conn.Call(ctx, "calc", "add", i, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.workers.spawned.Load(); n > 3 {
		t.Fatalf("%d workers started for 100 sequential calls", n)
	}
}

// An idle worker exits after its idle timeout; a closed pool has none.
func TestIdleWorkerExits(t *testing.T) {
	srv, _ := testServer(t, ServerOptions{})
	p := newWorkerPool()
	p.idleTimeout = time.Millisecond
	ran := make(chan struct{})
	c := newConnection(srv, nil, &logger{})
	t.Cleanup(c.cancel)
	t.Cleanup(c.closeCancel)
	app := MustNewApplication("a")
	app.HandleRaw("i", "m", 0, func(context.Context, *Connection, []any) ([]any, error) {
		close(ran)
		return nil, nil
	})
	srv.handlers.add()
	p.submit(callTask{c: c, app: app, iface: "i", name: "m"})
	<-ran
	exited := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("idle worker did not exit after its timeout")
	}
	p.close()
}
