package jstp

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// takeEnd is a server-side PipeEnd that is also a MessageTaker: it records
// the messages the engine takes and when each is released, and overwrites
// a released message at once, as a transport reusing its buffer would.
type takeEnd struct {
	*PipeEnd
	mu       sync.Mutex
	cur      []byte // the message being delivered
	taken    []*takenMsg
	released chan *takenMsg
}

type takenMsg struct {
	data     []byte
	releases int
}

func newTakeEnd(p *PipeEnd) *takeEnd {
	return &takeEnd{PipeEnd: p, released: make(chan *takenMsg, 16)}
}

func (te *takeEnd) Start(r Receiver) { te.PipeEnd.Start(&takeRecv{te: te, r: r}) }

type takeRecv struct {
	te *takeEnd
	r  Receiver
}

func (tr *takeRecv) Message(data []byte) {
	tr.te.mu.Lock()
	tr.te.cur = data
	tr.te.mu.Unlock()
	tr.r.Message(data)
	tr.te.mu.Lock()
	tr.te.cur = nil
	tr.te.mu.Unlock()
}

func (tr *takeRecv) Closed(err error) { tr.r.Closed(err) }

func (te *takeEnd) TakeMessage() (func(), bool) {
	te.mu.Lock()
	defer te.mu.Unlock()
	if te.cur == nil {
		panic("TakeMessage outside Message")
	}
	m := &takenMsg{data: te.cur}
	te.taken = append(te.taken, m)
	return func() {
		te.mu.Lock()
		m.releases++
		for i := range m.data {
			m.data[i] = '#' // reused at once
		}
		te.mu.Unlock()
		te.released <- m
	}, true
}

// within reports whether s lies in b.
func within(s string, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&b[0]))
	return p >= start && p+uintptr(len(s)) <= start+uintptr(len(b))
}

func TestBorrowArgsTakenFromTransport(t *testing.T) {
	large := strings.Repeat("taken ", 20000)
	for _, tc := range []struct {
		name      string
		msg       string
		borrow    bool
		wantTaken bool
		wantOK    bool
	}{
		{name: "large call", msg: "{call:[1,'blob'],echo:['" + large + "']}", borrow: true, wantTaken: true, wantOK: true},
		{name: "method without BorrowArgs", msg: "{call:[1,'blob'],echo:['" + large + "']}", wantOK: true},
		{name: "small call", msg: "{call:[1,'blob'],echo:['small']}", borrow: true, wantOK: true},
		// Taken, then the payload fails to parse: the message is given
		// back only after the engine is done with it (it closes the
		// connection, as the reference does).
		{name: "bad payload", msg: "{call:[1,'blob'],echo:['" + large + "' 'x']}", borrow: true, wantTaken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inMethod := make(chan bool, 1)
			var te *takeEnd
			app := MustNewApplication("lendApp")
			var opts []MethodOption
			if tc.borrow {
				opts = append(opts, BorrowArgs())
			}
			app.HandleRaw("blob", "echo", 1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
				s, _ := args[0].(string)
				te.mu.Lock()
				in := len(te.taken) > 0 && within(s, te.taken[0].data)
				te.mu.Unlock()
				inMethod <- in
				return []any{s}, nil
			}, opts...)
			srv, _ := testServer(t, ServerOptions{Applications: []*Application{app}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, b := Pipe()
			te = newTakeEnd(b)
			srv.Serve(te)
			rec := newChanReceiver()
			a.Start(rec)
			t.Cleanup(func() { a.Close() })
			if err := a.Send([]byte("{handshake:[0,'lendApp']}")); err != nil {
				t.Fatal(err)
			}
			rec.next(ctx, t)
			if err := a.Send([]byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			if tc.wantOK {
				reply := rec.next(ctx, t)
				arg := strings.TrimSuffix(strings.TrimPrefix(tc.msg, "{call:[1,'blob'],echo:"), "}")
				if want := "{callback:[1],ok:" + arg + "}"; reply != want {
					t.Fatalf("answered %.80s…, not with the argument sent", reply)
				}
				if in := <-inMethod; in != tc.wantTaken {
					t.Fatalf("the method's argument lies in the transport's buffer: %v, want %v", in, tc.wantTaken)
				}
			}
			if tc.wantTaken {
				select {
				case m := <-te.released:
					te.mu.Lock()
					r := m.releases
					te.mu.Unlock()
					if r != 1 {
						t.Fatalf("released %d times", r)
					}
				case <-ctx.Done():
					t.Fatal("no message was taken and released")
				}
			}
			te.mu.Lock()
			n := len(te.taken)
			te.mu.Unlock()
			if got := n > 0; got != tc.wantTaken {
				t.Fatalf("taken: %v, want %v", got, tc.wantTaken)
			}
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if n := leasesOut.Load(); n != 0 {
				t.Fatalf("%d leases out", n)
			}
		})
	}
}
