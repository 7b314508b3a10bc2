package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jstp "github.com/jstp-go/jstp/core"
)

// noReconnect keeps benchmark clients from reconnecting.
var noReconnect = jstp.ReconnectorFunc(func(*jstp.Connection, int, error) (time.Duration, jstp.Dialer, bool) {
	return 0, nil, false
})

// connectAll opens n handshaken connections with ConnectAndInspect, at
// most par at a time. dial(i) gives the dialer of the i-th connection.
func connectAll(ctx context.Context, n, par int, dial func(i int) jstp.Dialer) ([]*jstp.Connection, []*jstp.RemoteProxy, error) {
	conns := make([]*jstp.Connection, n)
	proxies := make([]*jstp.RemoteProxy, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, px, err := jstp.ConnectAndInspect(ctx, "app", &jstp.Client{Reconnector: noReconnect}, dial(i), "iface")
			if err != nil {
				if c != nil {
					c.Close()
				}
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("connection %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			conns[i], proxies[i] = c, px["iface"]
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	if first != nil {
		closeAll(conns)
		return nil, nil, first
	}
	return conns, proxies, nil
}

func closeAll(conns []*jstp.Connection) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
	}
	wg.Wait()
}

// split divides r calls over w lanes.
func split(r, w, lane int) int {
	n := r / w
	if lane < r%w {
		n++
	}
	return n
}

// runGoLoad is the Go load generator: it opens the point's connections to
// a JSTP server with dial, then issues every connection's R calls, keeping
// PerConnWindow of them in flight, and returns their latencies.
func runGoLoad(ctx context.Context, p Point, dial jstp.Dialer, mark func(start bool)) (lat []int64, errs int, wall time.Duration, err error) {
	conns, proxies, err := connectAll(ctx, p.Conns(), 32, func(int) jstp.Dialer { return dial })
	if err != nil {
		return nil, 0, 0, err
	}
	defer closeAll(conns)
	// The argument is boxed once: a fresh conversion of the same string
	// to an interface value on every call would be an allocation of the
	// load generator's own, not the engine's.
	args := []any{strings.Repeat("0", p.S)}
	win := p.PerConnWindow()
	lat = make([]int64, p.Calls())
	var next atomic.Int64
	var nerr atomic.Int64
	var firstErr atomic.Value
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, px := range proxies {
		for lane := range win {
			n := split(p.R, win, lane)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range n {
					if ctx.Err() != nil {
						nerr.Add(1)
						continue
					}
					t := time.Now()
					_, err := px.Call(ctx, "method", args...)
					d := time.Since(t)
					if err != nil {
						nerr.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					lat[next.Add(1)-1] = int64(d)
				}
			}()
		}
	}
	mark(true)
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall = time.Since(t0)
	mark(false)
	if e, _ := firstErr.Load().(error); e != nil {
		err = e
	}
	return lat[:next.Load()], int(nerr.Load()), wall, err
}

// callSize and ackSize are the lengths of a JSTP call carrying an S-byte
// argument and of its answer, as the engine writes them (ids of 5 digits):
// the raw echo carries messages of the same sizes.
func callSize(s int) int { return len("{call:[12345,'iface'],method:['']}") + s }

const ackSize = len("{callback:[12345],ok:[]}")

// runEchoLoad is the raw ceiling: the same point over the bare transport,
// a call-sized message out and an answer-sized one back, same window.
func runEchoLoad(ctx context.Context, p Point, a *Adapter, addr string, mark func(start bool)) (lat []int64, wall time.Duration, err error) {
	conns := make([]EchoConn, p.Conns())
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		if conns[i], err = a.DialEcho(ctx, addr); err != nil {
			return nil, 0, err
		}
	}
	msg := []byte("{call:[12345,'iface'],method:['" + strings.Repeat("0", p.S) + "']}")
	win := p.PerConnWindow()
	lat = make([]int64, p.Calls())
	var next atomic.Int64
	var firstErr atomic.Value
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range conns {
		msg := bytes.Clone(msg) // a writer may mask its message in place
		sem := make(chan struct{}, win)
		sent := make(chan time.Time, win)
		wg.Add(2)
		go func() { // writer
			defer wg.Done()
			<-start
			for range p.R {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				sent <- time.Now()
				if err := c.Write(msg); err != nil {
					firstErr.CompareAndSwap(nil, err)
					c.Close()
					return
				}
			}
		}()
		go func() { // reader
			defer wg.Done()
			for range p.R {
				n, err := c.Read()
				if err == nil && n != ackSize {
					err = fmt.Errorf("echo answer of %d bytes, want %d", n, ackSize)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					c.Close()
					return
				}
				var t time.Time
				select {
				case t = <-sent:
				case <-ctx.Done():
					return
				}
				lat[next.Add(1)-1] = int64(time.Since(t))
				<-sem
			}
		}()
	}
	stopOnCancel := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})
	defer stopOnCancel()
	mark(true)
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall = time.Since(t0)
	mark(false)
	if e, _ := firstErr.Load().(error); e != nil {
		err = e
	} else if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("echo run timed out: %w", err)
	}
	return lat[:next.Load()], wall, err
}
