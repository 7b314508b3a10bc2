package wstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// WaitLimit bounds every wait of the helpers here for an expected event.
const WaitLimit = 10 * time.Second

// Recorder is a jstp.Receiver that hands what it gets to channels.
type Recorder struct {
	// Msgs receives a copy of every message delivered.
	Msgs chan []byte
	// Errs receives the error of every Closed call.
	Errs chan error
	// Done is closed by the first Closed call.
	Done chan struct{}
	// Calls counts the Closed calls.
	Calls atomic.Int32

	// EndBatch bookkeeping (jstp.BatchEnder): how many messages had been
	// delivered at the last EndBatch, a signal after each, and whether a
	// Message and an EndBatch ever overlapped.
	inCall    atomic.Bool
	overlap   atomic.Bool
	delivered atomic.Int64
	endMu     sync.Mutex
	endAt     int64
	ended     chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{Msgs: make(chan []byte, 64), Errs: make(chan error, 2), Done: make(chan struct{}), ended: make(chan struct{}, 1)}
}

// Message implements jstp.Receiver: it queues a copy of data on Msgs.
func (r *Recorder) Message(data []byte) {
	if !r.inCall.CompareAndSwap(false, true) {
		r.overlap.Store(true)
	}
	r.delivered.Add(1)
	r.inCall.Store(false)
	r.Msgs <- append([]byte(nil), data...)
}

// EndBatch implements jstp.BatchEnder: it records how many messages had
// been delivered, for WaitEndBatch.
func (r *Recorder) EndBatch() {
	if !r.inCall.CompareAndSwap(false, true) {
		r.overlap.Store(true)
	}
	n := r.delivered.Load()
	r.inCall.Store(false)
	r.endMu.Lock()
	r.endAt = n
	r.endMu.Unlock()
	select {
	case r.ended <- struct{}{}:
	default:
	}
}

// WaitEndBatch waits for an EndBatch call made once n messages or more
// had been delivered, failing t if there is none within WaitLimit, or if
// an EndBatch ever overlapped a Message.
func (r *Recorder) WaitEndBatch(t testing.TB, n int64) {
	t.Helper()
	deadline := time.After(WaitLimit)
	for {
		r.endMu.Lock()
		at := r.endAt
		r.endMu.Unlock()
		if r.overlap.Load() {
			t.Fatal("EndBatch and Message overlapped")
		}
		if at >= n {
			return
		}
		select {
		case <-r.ended:
		case <-deadline:
			t.Fatalf("no EndBatch after message %d in time (the last came after %d)", n, at)
		}
	}
}

// Closed implements jstp.Receiver: it counts the call, closes Done the
// first time, and queues err on Errs.
func (r *Recorder) Closed(err error) {
	if r.Calls.Add(1) == 1 {
		close(r.Done)
	}
	r.Errs <- err
}

// WaitMessage returns the next message, failing t if none arrives within
// WaitLimit.
func (r *Recorder) WaitMessage(t testing.TB) []byte {
	t.Helper()
	select {
	case m := <-r.Msgs:
		return m
	case <-time.After(WaitLimit):
		t.Fatal("no message in time")
		return nil
	}
}

// WaitClosed returns the error of the next Closed call, failing t if there
// is none within WaitLimit.
func (r *Recorder) WaitClosed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.Errs:
		return err
	case <-time.After(WaitLimit):
		t.Fatal("Receiver.Closed not called in time")
		return nil
	}
}

// FakeEngine stands in for jstp.Server under an adapter's server: it starts
// each transport with a Recorder and hands both to the test on Served.
type FakeEngine struct {
	// Served receives every transport served, with its Recorder.
	Served chan Served
	// Shutdowns counts the Shutdown calls.
	Shutdowns atomic.Int32

	mu  sync.Mutex
	all []Served
}

// Served is a transport a FakeEngine was given and the Recorder it was
// started with.
type Served struct {
	Tr  jstp.Transport
	Rec *Recorder
}

// NewFakeEngine returns a FakeEngine that has served nothing yet.
func NewFakeEngine() *FakeEngine { return &FakeEngine{Served: make(chan Served, 16)} }

// Serve starts t with a new Recorder and queues both on Served.
func (e *FakeEngine) Serve(t jstp.Transport) {
	s := Served{Tr: t, Rec: NewRecorder()}
	e.mu.Lock()
	e.all = append(e.all, s)
	e.mu.Unlock()
	t.Start(s.Rec)
	e.Served <- s
}

// Shutdown counts the call and closes every transport served.
func (e *FakeEngine) Shutdown(context.Context) error {
	e.Shutdowns.Add(1)
	return e.Close()
}

// Close closes every transport served.
func (e *FakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.all {
		s.Tr.Close()
	}
	return nil
}

// Next returns the next transport served, failing t if there is none
// within WaitLimit.
func (e *FakeEngine) Next(t testing.TB) Served {
	t.Helper()
	select {
	case s := <-e.Served:
		return s
	case <-time.After(WaitLimit):
		t.Fatal("server got no connection in time")
		return Served{}
	}
}

// Pattern returns n bytes of a recognisable repeating a–z pattern.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
