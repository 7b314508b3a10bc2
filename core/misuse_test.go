package jstp

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// scriptTransport gives the test the Receiver the engine starts it with,
// so that the test can call it as a faulty adapter would.
type scriptTransport struct {
	discard
	recv   chan Receiver
	closes atomic.Int32
}

func (s *scriptTransport) Start(r Receiver)  { s.recv <- r }
func (s *scriptTransport) Send([]byte) error { return nil }
func (s *scriptTransport) Close() error      { s.closes.Add(1); return nil }

// TestTransportMisuse: a transport that breaks the Receiver contract gets
// an ErrTransportMisuse log event, the offending call is dropped, and the
// engine neither panics nor races.
func TestTransportMisuse(t *testing.T) {
	const hello = "{handshake:[0,'testApp']}"
	for _, tc := range []struct {
		name      string
		script    func(r Receiver, reenter *atomic.Pointer[func()])
		want      string // in the misuse error
		wantClose bool   // the engine closes the transport
	}{
		{
			name:   "second Closed",
			script: func(r Receiver, _ *atomic.Pointer[func()]) { r.Closed(nil); r.Closed(errors.New("again")) },
			want:   "a second Closed",
		},
		{
			name:   "Message after Closed",
			script: func(r Receiver, _ *atomic.Pointer[func()]) { r.Closed(nil); r.Message([]byte(hello)) },
			want:   "Message after Closed",
		},
		{
			name: "Message during Message",
			script: func(r Receiver, reenter *atomic.Pointer[func()]) {
				// The hook runs inside the engine's handling of the first
				// message; calling Message from there overlaps the two.
				f := func() { r.Message([]byte("{ping:[1]}")) }
				reenter.Store(&f)
				r.Message([]byte(hello))
			},
			want:      "Message while another Receiver call was under way",
			wantClose: true,
		},
		{
			name: "EndBatch during Message",
			script: func(r Receiver, reenter *atomic.Pointer[func()]) {
				f := func() { r.(BatchEnder).EndBatch() }
				reenter.Store(&f)
				r.Message([]byte(hello))
			},
			want:      "EndBatch while another Receiver call was under way",
			wantClose: true,
		},
		{
			name: "Closed during Message",
			script: func(r Receiver, reenter *atomic.Pointer[func()]) {
				// Reported, but acted on: the transport is closed.
				f := func() { r.Closed(nil) }
				reenter.Store(&f)
				r.Message([]byte(hello))
			},
			want: "Closed while another Receiver call was under way",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reenter atomic.Pointer[func()]
			misuse := make(chan error, 4)
			srv, _ := testServer(t, ServerOptions{Hook: func(ev LogEvent) {
				if ev.Kind == LogIncoming {
					if f := reenter.Swap(nil); f != nil {
						(*f)()
					}
				}
				if ev.Kind == LogError && errors.Is(ev.Err, ErrTransportMisuse) {
					misuse <- ev.Err
				}
			}})
			tr := &scriptTransport{recv: make(chan Receiver, 1)}
			srv.Serve(tr)
			var r Receiver
			select {
			case r = <-tr.recv:
			case <-time.After(5 * time.Second):
				t.Fatal("the server did not start the transport")
			}
			tc.script(r, &reenter)
			select {
			case err := <-misuse:
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("misuse reported as %q, want it to mention %q", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no ErrTransportMisuse event for %s", tc.name)
			}
			if got := tr.closes.Load() > 0; tc.wantClose && !got {
				t.Errorf("the engine did not close the transport")
			}
			if !tc.wantClose {
				select {
				case err := <-misuse:
					t.Errorf("a second misuse event: %v", err)
				default:
				}
			}
			r.Closed(nil) // harmless when already closed: reported, not a panic
		})
	}
}
