package jstp

// Micro-benchmarks of the engine's hot paths (run with -benchmem; the
// numbers are discussed in docs/performance.md):
//
//	go test -run '^$' -bench . -benchmem ./core
//
// The round trip runs over jstp.Pipe, whose own cost (a copy of each
// message and a wake-up of its delivery goroutine) BenchmarkPipeRoundTrip
// measures alone, so that the engine's share is the difference.

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const benchArg = "0123456789" // the 10-byte argument of the small-call points

func benchApplication() *Application {
	app := MustNewApplication("app")
	app.HandleRaw("iface", "method", 1, func(context.Context, *Connection, []any) ([]any, error) {
		return nil, nil
	})
	app.HandleRaw("iface", "borrowed", 1, func(context.Context, *Connection, []any) ([]any, error) {
		return nil, nil
	}, BorrowArgs())
	app.HandleRaw("iface", "inline", 1, func(context.Context, *Connection, []any) ([]any, error) {
		return nil, nil
	}, NonBlocking())
	return app
}

// benchConn connects a client to a fresh server over jstp.Pipe.
func benchConn(b *testing.B) *Connection {
	b.Helper()
	srv, err := NewServer(ServerOptions{Applications: []*Application{benchApplication()}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "app", nil, func(context.Context) (Transport, error) {
		a, z := Pipe()
		srv.Serve(z)
		return a, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return conn
}

// BenchmarkCallRoundTrip is one small call at a time, client to server and
// back, over the in-memory pipe: the whole engine on both sides.
func BenchmarkCallRoundTrip(b *testing.B) { benchRoundTrips(b, "method") }

// BenchmarkCallRoundTripNonBlocking is BenchmarkCallRoundTrip to a method
// registered with NonBlocking, which runs on the pipe's delivering
// goroutine instead of a worker.
func BenchmarkCallRoundTripNonBlocking(b *testing.B) { benchRoundTrips(b, "inline") }

// benchRoundTrips makes small calls to method, one at a time.
func benchRoundTrips(b *testing.B, method string) {
	conn := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Call(ctx, "iface", method, benchArg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallRoundTrip100K is BenchmarkCallRoundTrip with a 100 KB
// argument, to a method that copies its arguments (the default) and to one
// that borrows them (BorrowArgs).
func BenchmarkCallRoundTrip100K(b *testing.B) {
	arg := strings.Repeat("0", 100000)
	for _, method := range []string{"method", "borrowed"} {
		b.Run(method, func(b *testing.B) {
			conn := benchConn(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(arg)))
			for b.Loop() {
				if _, err := conn.Call(ctx, "iface", method, arg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallRoundTripParallel keeps many small calls in flight on one
// connection.
func BenchmarkCallRoundTripParallel(b *testing.B) {
	benchParallelCalls(b, context.Background(), "method")
}

// BenchmarkCallRoundTripParallelNonBlocking is
// BenchmarkCallRoundTripParallel to the NonBlocking method.
func BenchmarkCallRoundTripParallelNonBlocking(b *testing.B) {
	benchParallelCalls(b, context.Background(), "inline")
}

// BenchmarkCallRoundTripSharedContext is BenchmarkCallRoundTripParallel
// with the callers sharing one cancellable context, as the callers of a
// client often do: each waits in a select on the same Done channel.
func BenchmarkCallRoundTripSharedContext(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchParallelCalls(b, ctx, "method")
}

// benchParallelCalls makes small calls to method under ctx from 16
// goroutines per GOMAXPROCS on one connection.
func benchParallelCalls(b *testing.B, ctx context.Context, method string) {
	conn := benchConn(b)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := conn.Call(ctx, "iface", method, benchArg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// pipeEcho answers every message on its pipe end with a callback-sized one.
type pipeEcho struct{ end *PipeEnd }

var pipeAck = []byte("{callback:[1],ok:[]}")

func (e pipeEcho) Message([]byte) { e.end.Send(pipeAck) }
func (e pipeEcho) Closed(error)   {}

type pipeWaiter chan struct{}

func (w pipeWaiter) Message([]byte) { w <- struct{}{} }
func (w pipeWaiter) Closed(error)   {}

// BenchmarkPipeRoundTrip is the transport's share of BenchmarkCallRoundTrip:
// a call-sized message through jstp.Pipe and a callback-sized one back.
func BenchmarkPipeRoundTrip(b *testing.B) {
	a, z := Pipe()
	z.Start(pipeEcho{z})
	w := make(pipeWaiter, 1)
	a.Start(w)
	defer a.Close()
	msg := []byte("{call:[1,'iface'],method:['" + benchArg + "']}")
	b.ReportAllocs()
	for b.Loop() {
		a.Send(msg)
		<-w
	}
}

// BenchmarkEncodeCallArgs is the argument encoding a Call does.
func BenchmarkEncodeCallArgs(b *testing.B) {
	args := []any{benchArg}
	b.ReportAllocs()
	for b.Loop() {
		scratch := getScratch()
		payload, err := encodeArgs(*scratch, args)
		if err != nil {
			b.Fatal(err)
		}
		putScratch(scratch, payload)
	}
}

type discardTransport struct{}

func (discardTransport) Start(Receiver)       {}
func (discardTransport) Send([]byte) error    { return nil }
func (discardTransport) Close() error         { return nil }
func (discardTransport) RemoteAddr() net.Addr { return PipeAddr("discard") }

// BenchmarkEncodeCallback is the answer a server writes for a method with
// no result.
func BenchmarkEncodeCallback(b *testing.B) {
	c := newConnection(nil, nil, &logger{})
	ts := &transportState{c: c, t: discardTransport{}, closed: make(chan struct{})}
	b.ReportAllocs()
	for b.Loop() {
		c.sendCallback(ts, -12345, nil, nil)
	}
}

// BenchmarkDecodeCall takes a small call apart, as receive does.
func BenchmarkDecodeCall(b *testing.B) {
	benchDecode(b, "{call:[12345,'iface'],method:['"+benchArg+"']}")
}

// BenchmarkDecodeCallback takes the answer to a small call apart.
func BenchmarkDecodeCallback(b *testing.B) {
	benchDecode(b, "{callback:[12345],ok:[]}")
}

// BenchmarkDecodeCall100K takes apart a call with a 100 KB string
// argument (the large-message point).
func BenchmarkDecodeCall100K(b *testing.B) {
	benchDecode(b, "{call:[12345,'iface'],method:['"+strings.Repeat("0", 100000)+"']}")
}

// BenchmarkDecodeCall100KLent is BenchmarkDecodeCall100K for a method
// registered with BorrowArgs: the payload is parsed out of a pooled buffer.
func BenchmarkDecodeCall100KLent(b *testing.B) {
	benchDecodeWith(b, "{call:[12345,'iface'],method:['"+strings.Repeat("0", 100000)+"']}", alwaysLend{})
}

type alwaysLend struct{}

func (alwaysLend) lends(string, string) bool { return true }
func (alwaysLend) take() (func(), bool)      { return nil, false }

func benchDecode(b *testing.B, text string) { benchDecodeWith(b, text, nil) }

func benchDecodeWith(b *testing.B, text string, ln lender) {
	msg := []byte(text)
	var m inMessage
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if ok, err := parseMessage(msg, &m, nil, ln); !ok || err != nil {
			b.Fatal(ok, err)
		}
		if ln != nil && m.lease == nil {
			b.Fatal("not lent")
		}
		m.lease.release()
	}
}

// BenchmarkDispatch finds the method and runs it (Application.call).
func BenchmarkDispatch(b *testing.B) {
	app := benchApplication()
	c := newConnection(nil, nil, &logger{})
	ctx := context.Background()
	args := []any{benchArg}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := app.call(ctx, c, "iface", "method", args); err != nil {
			b.Fatal(err)
		}
	}
}

// responder is a client Transport that answers every call itself, from a
// goroutine of its own, with a callback carrying the call's id: the client
// half of a round trip with no server engine behind it.
type responder struct {
	r    Receiver
	ids  chan []byte
	done chan struct{}
	once sync.Once
}

func newResponder() *responder {
	return &responder{ids: make(chan []byte, 1024), done: make(chan struct{})}
}

func (t *responder) Start(r Receiver) {
	t.r = r
	go func() {
		buf := make([]byte, 0, 64)
		for {
			select {
			case id := <-t.ids:
				buf = append(append(append(buf[:0], "{callback:["...), id...), "],ok:[]}"...)
				t.r.Message(buf)
			case <-t.done:
				t.r.Closed(nil)
				return
			}
		}
	}()
}

func (t *responder) Send(msg []byte) error {
	// {call:[<id>,... or {handshake:[<id>,...: answer with the id.
	i := bytes.IndexByte(msg, '[')
	j := bytes.IndexByte(msg, ',')
	if i < 0 || j < i {
		return nil
	}
	if bytes.HasPrefix(msg, []byte("{handshake:")) {
		go t.r.Message([]byte("{handshake:[0],ok:'bench-session'}"))
		return nil
	}
	select {
	case t.ids <- append([]byte(nil), msg[i+1:j]...):
	case <-t.done:
		return ErrTransportClosed
	}
	return nil
}

func (t *responder) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

func (t *responder) RemoteAddr() net.Addr { return PipeAddr("responder") }

// BenchmarkClientCall is the client half of a round trip: encoding and
// numbering the call, buffering it in the session, parsing the callback,
// matching it to the pending call and waking the caller. The responder
// transport's own cost (a copy of the id, a goroutine hand-off) is
// included.
func BenchmarkClientCall(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Connect(ctx, "app", nil, func(context.Context) (Transport, error) { return newResponder(), nil })
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Call(context.Background(), "iface", "method", benchArg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionBuffering numbers and buffers messages and drops them
// when the peer acknowledges them, 64 at a time.
func BenchmarkSessionBuffering(b *testing.B) {
	s := newSession("bench", "")
	msg := []byte("{event:[1,'iface'],name:[]}")
	var mu sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		s.mu.Lock()
		abs := s.nextIDLocked()
		s.buffer = append(s.buffer, bufferedMessage{id: abs, msg: msg})
		s.mu.Unlock()
		mu.Unlock()
		if abs%64 == 0 {
			s.onDelivered(abs)
		}
	}
}
