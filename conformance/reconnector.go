package conformance

import (
	"sync"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// manualReconnector is the reconnector of the suite's Go clients: by
// default it never reconnects (so nothing redials behind a subtest's back);
// once allowed, it reconnects at once, optionally over another dialer.
// Every time the engine consults it, it reports the attempt on asked.
type manualReconnector struct {
	e     *env
	asked chan int // attempt numbers, one per consultation

	mu      sync.Mutex
	allowed bool
	dial    jstp.Dialer // nil: the connection's original dialer
	delay   time.Duration
}

func newManualReconnector(e *env) *manualReconnector {
	return &manualReconnector{e: e, asked: make(chan int, 256)}
}

// allow lets the reconnector reconnect from now on, over dial (nil: the
// original dialer).
func (r *manualReconnector) allow(dial jstp.Dialer) {
	r.mu.Lock()
	r.allowed, r.dial = true, dial
	r.mu.Unlock()
}

// Next implements jstp.Reconnector.
func (r *manualReconnector) NextAttempt(conn *jstp.Connection, attempt int, lastErr error) (time.Duration, jstp.Dialer, bool) {
	select {
	case r.asked <- attempt:
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.allowed {
		return 0, nil, false
	}
	return r.delay, r.dial, true
}
