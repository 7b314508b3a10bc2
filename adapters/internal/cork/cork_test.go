package cork

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// recConn is a net.Conn that records every Write and write deadline, and
// can be made to fail or to block its writes.
type recConn struct {
	net.Conn // nil: methods not overridden are not expected to be called

	mu        sync.Mutex
	writes    [][]byte
	deadlines []time.Time
	fail      error
	block     chan struct{} // non-nil: Write waits for it to close
	entered   chan struct{} // non-nil: Write signals here before it blocks
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	block, entered := c.block, c.entered
	c.mu.Unlock()
	if block != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		<-block
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *recConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadlines = append(c.deadlines, t)
	return nil
}

func (c *recConn) got() ([][]byte, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...), append([]time.Time(nil), c.deadlines...)
}

func write(t *testing.T, c *Conn, s string) {
	t.Helper()
	if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func TestUncorkedWritesPassThrough(t *testing.T) {
	rc := &recConn{}
	c := New(rc)
	write(t, c, "a")
	write(t, c, "b")
	w, _ := rc.got()
	if len(w) != 2 || string(w[0]) != "a" || string(w[1]) != "b" {
		t.Fatalf("writes %q, want [a b]", w)
	}
}

func TestCorkedWritesGoOutTogether(t *testing.T) {
	rc := &recConn{}
	c := New(rc)
	deadline := time.Now().Add(time.Minute)
	if err := c.Cork(deadline); err != nil {
		t.Fatal(err)
	}
	write(t, c, "one")
	write(t, c, "two")
	write(t, c, "three")
	if w, _ := rc.got(); len(w) != 0 {
		t.Fatalf("%d writes reached the connection while corked", len(w))
	}
	if err := c.Uncork(deadline); err != nil {
		t.Fatal(err)
	}
	w, dl := rc.got()
	if len(w) != 1 || string(w[0]) != "onetwothree" {
		t.Fatalf("writes %q, want one write of onetwothree", w)
	}
	if len(dl) != 1 || !dl[0].Equal(deadline) {
		t.Fatalf("deadlines %v, want [%v]", dl, deadline)
	}
	// Uncorked again: straight through, under the (zero) deadline asked.
	write(t, c, "after")
	if w, _ := rc.got(); len(w) != 2 || string(w[1]) != "after" {
		t.Fatalf("writes %q after uncork", w)
	}
	// An empty batch writes nothing.
	c.Cork(deadline)
	if err := c.Uncork(deadline); err != nil {
		t.Fatal(err)
	}
	if w, _ := rc.got(); len(w) != 2 {
		t.Fatalf("an empty batch made %d writes", len(w)-2)
	}
}

func TestFullBufferGoesOutEarly(t *testing.T) {
	rc := &recConn{}
	c := New(rc)
	deadline := time.Now().Add(time.Minute)
	c.Cork(deadline)
	small := bytes.Repeat([]byte("s"), 100)
	big := bytes.Repeat([]byte("B"), Limit)
	if _, err := c.Write(small); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	var out []byte
	w, _ := rc.got()
	for _, b := range w {
		out = append(out, b...)
	}
	if !bytes.Equal(out, append(append([]byte(nil), small...), big...)) {
		t.Fatalf("early write: %d bytes, want the %d buffered then the %d overflowing", len(out), len(small), len(big))
	}
	write(t, c, "tail")
	if err := c.Uncork(deadline); err != nil {
		t.Fatal(err)
	}
	w, _ = rc.got()
	if string(w[len(w)-1]) != "tail" {
		t.Fatalf("last write %q, want tail", w[len(w)-1])
	}
}

func TestWriteErrorBreaksTheStream(t *testing.T) {
	boom := errors.New("boom")
	rc := &recConn{fail: boom}
	c := New(rc)
	if _, err := c.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want %v", err, boom)
	}
	rc.mu.Lock()
	rc.fail = nil
	rc.mu.Unlock()
	if _, err := c.Write([]byte("y")); !errors.Is(err, boom) {
		t.Fatalf("Write after a failure: %v, want %v", err, boom)
	}
	if err := c.Cork(time.Time{}); !errors.Is(err, boom) {
		t.Fatalf("Cork after a failure: %v, want %v", err, boom)
	}
	if w, _ := rc.got(); len(w) != 0 {
		t.Fatalf("%d writes after the failure", len(w))
	}
}

func TestUncorkDropsBufferOfBrokenStream(t *testing.T) {
	boom := errors.New("boom")
	rc := &recConn{}
	c := New(rc)
	c.Cork(time.Time{})
	write(t, c, "held")
	rc.mu.Lock()
	rc.fail = boom
	rc.mu.Unlock()
	if err := c.Uncork(time.Time{}); !errors.Is(err, boom) {
		t.Fatalf("Uncork: %v, want %v", err, boom)
	}
	// Uncorked although the write failed.
	if _, err := c.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want %v", err, boom)
	}
}

func TestWriteWaitsNoLongerThanItsDeadline(t *testing.T) {
	rc := &recConn{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	c := New(rc)
	first := make(chan error, 1)
	go func() { _, err := c.Write([]byte("slow")); first <- err }()
	<-rc.entered // the first write holds the connection
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	start := time.Now()
	if _, err := c.Write([]byte("next")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write behind a stuck one: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Write waited %v", d)
	}
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("late")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past its deadline: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	close(rc.block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineSetOnlyWhenChanged(t *testing.T) {
	rc := &recConn{}
	c := New(rc)
	d := time.Now().Add(time.Minute)
	c.SetWriteDeadline(d)
	write(t, c, "a")
	write(t, c, "b")
	c.SetWriteDeadline(d.Add(time.Second))
	write(t, c, "c")
	_, dl := rc.got()
	if len(dl) != 2 || !dl[0].Equal(d) || !dl[1].Equal(d.Add(time.Second)) {
		t.Fatalf("deadlines set %v", dl)
	}
}

// hijackWriter is an http.ResponseWriter that can be hijacked, optionally
// with gin's WriteHeaderNow.
type hijackWriter struct {
	*httptest.ResponseRecorder
	conn      net.Conn
	brw       *bufio.ReadWriter
	headerNow int
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, w.brw, nil
}

type ginWriter struct{ *hijackWriter }

func (w ginWriter) WriteHeaderNow() { w.headerNow++ }

func TestHijackCorker(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gin       bool
		headerNow bool
		want      int
		wbuf      int // WriteBufferSize
	}{
		{"plain writer", false, true, 0, 0},
		{"gin writer, WriteHeaderNow off", true, false, 0, 0},
		{"gin writer, WriteHeaderNow on", true, true, 1, 0},
		{"smaller write buffer", false, true, 0, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recConn{}
			var pending bytes.Buffer
			hw := &hijackWriter{ResponseRecorder: httptest.NewRecorder(), conn: rc}
			hw.brw = bufio.NewReadWriter(bufio.NewReader(&pending), bufio.NewWriter(rc))
			hw.brw.Writer.WriteString("buffered")
			var w http.ResponseWriter = hw
			if tc.gin {
				w = ginWriter{hw}
			}
			h := &HijackCorker{ResponseWriter: w, WriteHeaderNow: tc.headerNow, WriteBufferSize: tc.wbuf}
			if h.Unwrap() != w {
				t.Fatal("Unwrap does not return the wrapped writer")
			}
			conn, brw, err := h.Hijack()
			if err != nil {
				t.Fatal(err)
			}
			if hw.headerNow != tc.want {
				t.Fatalf("WriteHeaderNow called %d times, want %d", hw.headerNow, tc.want)
			}
			if conn != h.Conn || h.Conn == nil || h.Conn.Conn != rc {
				t.Fatal("Hijack did not return and record a Conn over the hijacked connection")
			}
			wantSize := 4096 // bufio's default, as the server's
			if tc.wbuf > 0 {
				wantSize = tc.wbuf
			}
			if got := brw.Writer.Size(); got != wantSize {
				t.Fatalf("hijacked writer of %d bytes, want %d", got, wantSize)
			}
			// What was buffered went out first; later writes go through the Conn.
			h.Conn.Cork(time.Time{})
			brw.Writer.WriteString("frame")
			brw.Writer.Flush()
			if w, _ := rc.got(); len(w) != 1 || string(w[0]) != "buffered" {
				t.Fatalf("writes %q before uncork, want [buffered]", w)
			}
			h.Conn.Uncork(time.Time{})
			if w, _ := rc.got(); len(w) != 2 || string(w[1]) != "frame" {
				t.Fatalf("writes %q after uncork", w)
			}
		})
	}
}

// TestOnRead: the OnRead function runs before every Read, on the reading
// goroutine, before the data is read; nil removes it.
func TestOnRead(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := New(a)
	var calls []int // bytes read so far, at each call
	read := 0
	c.OnRead(func() { calls = append(calls, read) })
	go func() {
		b.Write([]byte("ab"))
		b.Write([]byte("cd"))
	}()
	buf := make([]byte, 2)
	for range 2 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	if want := []int{0, 2}; len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("OnRead ran at %v bytes read, want %v", calls, want)
	}
	c.OnRead(nil)
	go b.Write([]byte("e"))
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Errorf("OnRead ran after it was removed: %v", calls)
	}
}
