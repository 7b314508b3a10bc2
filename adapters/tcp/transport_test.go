package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/tcp/internal/testcert"
	jstp "github.com/jstp-go/jstp/core"
)

// recorder is a fake jstp.Receiver.
type recorder struct {
	t      testing.TB
	msgs   chan string
	closed chan error
	count  atomic.Int32
	after  atomic.Bool // a Message arrived after Closed
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, msgs: make(chan string, 1024), closed: make(chan error, 1)}
}

func (r *recorder) Message(data []byte) {
	if r.count.Load() > 0 {
		r.after.Store(true)
	}
	r.msgs <- string(data) // copied: data is only valid during the call
}

func (r *recorder) Closed(err error) {
	if r.count.Add(1) > 1 {
		r.t.Errorf("Closed called %d times", r.count.Load())
		return
	}
	r.closed <- err
}

// next waits for the next message.
func (r *recorder) next(t testing.TB) string {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.closed:
		r.closed <- err
		select { // Message precedes Closed: prefer a message already queued
		case m := <-r.msgs:
			return m
		default:
		}
		t.Fatalf("closed (%v) while waiting for a message", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
	}
	return ""
}

// wait waits for Closed and returns its error; pending messages are dropped.
func (r *recorder) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.closed:
		if r.after.Load() {
			t.Error("Message called after Closed")
		}
		r.closed <- err // keep it for a later wait
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Closed not called within 10 s")
	}
	return nil
}

// tcpPair returns two connected loopback TCP connections.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// unixPair returns two connected Unix socket connections.
func unixPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	client, err = net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// tlsPair returns two connected TLS connections over loopback TCP.
func tlsPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	p, err := testcert.Get()
	if err != nil {
		t.Fatal(err)
	}
	c, s := tcpPair(t)
	cfg := p.ClientConfig()
	cfg.ServerName = "127.0.0.1"
	tc, ts := tls.Client(c, cfg), tls.Server(s, p.ServerConfig())
	errc := make(chan error, 1)
	go func() { errc <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return tc, ts
}

func shortTempDir(t testing.TB) string {
	dir := t.TempDir()
	if len(dir) > 90 { // a socket path must fit in sun_path (108 bytes)
		d, err := mkdirShort()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeAll(d) })
		dir = d
	}
	return dir
}

// chunkers cut a byte stream into the chunks a peer writes.
var chunkers = []struct {
	name string
	cut  func(b []byte) [][]byte
}{
	{"whole", func(b []byte) [][]byte { return [][]byte{b} }},
	{"bytewise", func(b []byte) [][]byte { return cutEvery(b, 1) }},
	{"by3", func(b []byte) [][]byte { return cutEvery(b, 3) }},
	{"by7", func(b []byte) [][]byte { return cutEvery(b, 7) }},
	{"atNUL", func(b []byte) [][]byte { return bytes.SplitAfter(b, []byte{0}) }},
	{"beforeNUL", func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			i := bytes.IndexByte(b, 0)
			if i <= 0 {
				i = len(b)
			}
			out = append(out, b[:i])
			b = b[i:]
		}
		return out
	}},
}

func cutEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func frame(msgs ...string) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(append(b, m...), 0)
	}
	return b
}

func TestFraming(t *testing.T) {
	streams := []struct {
		name string
		msgs []string
	}{
		{"one", []string{"{call:[1,'auth'],newAccount:['Payload data']}"}},
		{"several", []string{"{ping:[1]}", "{pong:[1]}", "{event:[-1,'chat'],message:['hi']}"}},
		{"utf8", []string{"{event:[-1,'i'],e:['Привет, мир 👋 日本語']}", "{x:['ёж']}"}},
		{"empty", []string{"", "{a:1}", ""}},
		{"long", []string{strings.Repeat("ж", 40000), "{b:2}"}},
	}
	for _, st := range streams {
		for _, ch := range chunkers {
			t.Run(st.name+"/"+ch.name, func(t *testing.T) {
				c, s := net.Pipe() // net.Pipe hands over each write as written
				tr := NewTransport(s)
				rec := newRecorder(t)
				tr.Start(rec)
				go func() {
					for _, chunk := range ch.cut(frame(st.msgs...)) {
						if _, err := c.Write(chunk); err != nil {
							return
						}
					}
					c.Close()
				}()
				for i, want := range st.msgs {
					if got := rec.next(t); got != want {
						t.Fatalf("message %d: got %.40q, want %.40q", i, got, want)
					}
				}
				if err := rec.wait(t); err != nil {
					t.Fatalf("Closed(%v), want nil after a clean end", err)
				}
			})
		}
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name  string
		input func(w io.Writer)
		want  error
		msgs  int
	}{
		{
			name:  "unterminated tail at EOF",
			input: func(w io.Writer) { w.Write([]byte("{a:1}\x00{b:")) },
			want:  io.ErrUnexpectedEOF,
			msgs:  1,
		},
		{
			name: "tail over 8 MiB",
			input: func(w io.Writer) {
				w.Write([]byte("{a:1}\x00"))
				chunk := bytes.Repeat([]byte("x"), 1<<20)
				for range 8 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				w.Write([]byte("y"))
			},
			want: ErrMessageTooLarge,
			msgs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := net.Pipe()
			t.Cleanup(func() { c.Close() })
			rec := newRecorder(t)
			NewTransport(s).Start(rec)
			go func() { tt.input(c); c.Close() }()
			for range tt.msgs {
				rec.next(t)
			}
			if err := rec.wait(t); !errors.Is(err, tt.want) {
				t.Fatalf("Closed(%v), want %v", err, tt.want)
			}
		})
	}
}

func TestMessageOfMaxSize(t *testing.T) {
	c, s := net.Pipe()
	t.Cleanup(func() { c.Close() })
	rec := newRecorder(t)
	NewTransport(s).Start(rec)
	go func() {
		c.Write(bytes.Repeat([]byte("x"), MaxMessageSize))
		c.Write([]byte{0})
		c.Close()
	}()
	if got := rec.next(t); len(got) != MaxMessageSize {
		t.Fatalf("got %d bytes, want %d", len(got), MaxMessageSize)
	}
	if err := rec.wait(t); err != nil {
		t.Fatal(err)
	}
}

var pairs = []struct {
	name string
	make func(testing.TB) (net.Conn, net.Conn)
}{
	{"tcp", tcpPair},
	{"tls", tlsPair},
	{"unix", unixPair},
	{"pipe", func(t testing.TB) (net.Conn, net.Conn) { // no CloseWrite, no kernel buffer
		c, s := net.Pipe()
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}},
}

// TestExchange runs transports at both ends: messages of every size cross
// in both directions, then a clean Close at one end closes both, with every
// message sent before it delivered.
func TestExchange(t *testing.T) {
	msgs := []string{"{ping:[1]}", "", strings.Repeat("a", maxRetainedWriteBuffer+5), "{x:['ё']}", strings.Repeat("b", 3<<20)}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			ct, st := NewTransport(c), NewTransport(s)
			cr, sr := newRecorder(t), newRecorder(t)
			ct.Start(cr)
			st.Start(sr)
			if ct.RemoteAddr() == nil || st.RemoteAddr() == nil || st.RemoteAddr().String() == "" {
				t.Fatalf("RemoteAddr: %v, %v", ct.RemoteAddr(), st.RemoteAddr())
			}
			go func() {
				for _, m := range msgs {
					if err := st.Send([]byte(m)); err != nil {
						t.Errorf("server Send: %v", err)
					}
				}
			}()
			for _, m := range msgs {
				if err := ct.Send([]byte(m)); err != nil {
					t.Fatalf("client Send: %v", err)
				}
			}
			for i, m := range msgs {
				if got := sr.next(t); got != m {
					t.Fatalf("server got message %d of %d bytes, want %d", i, len(got), len(m))
				}
				if got := cr.next(t); got != m {
					t.Fatalf("client got message %d of %d bytes, want %d", i, len(got), len(m))
				}
			}
			// Sent just before the close: must still arrive.
			if err := ct.Send([]byte("{last:1}")); err != nil {
				t.Fatal(err)
			}
			ct.Close()
			if got := sr.next(t); got != "{last:1}" {
				t.Fatalf("got %q", got)
			}
			if err := sr.wait(t); err != nil {
				t.Errorf("server Closed(%v), want nil", err)
			}
			// The server's Receiver would close its end; here we do it.
			st.Close()
			if err := cr.wait(t); err != nil {
				t.Errorf("client Closed(%v), want nil", err)
			}
			if err := ct.Send([]byte("x")); !errors.Is(err, jstp.ErrTransportClosed) {
				t.Errorf("Send after Close: %v", err)
			}
		})
	}
}

func TestUnixRemoteAddr(t *testing.T) {
	c, s := unixPair(t)
	for _, conn := range []net.Conn{c, s} {
		tr := NewTransport(conn)
		a := tr.RemoteAddr()
		if a == nil || a.String() == "" || !strings.HasSuffix(a.String(), "s.sock") {
			t.Errorf("RemoteAddr() = %v, want the socket path", a)
		}
		tr.Close()
	}
}

func TestSendRejectsNUL(t *testing.T) {
	c, _ := tcpPair(t)
	tr := NewTransport(c)
	if err := tr.Send([]byte("a\x00b")); !errors.Is(err, ErrNULInMessage) {
		t.Fatalf("Send: %v", err)
	}
	tr.Close()
}

func TestCloseTwiceAndConcurrent(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			go io.Copy(io.Discard, s) // the peer reads, never writes
			tr := NewTransport(c)
			rec := newRecorder(t)
			tr.Start(rec)
			var wg sync.WaitGroup
			msg := bytes.Repeat([]byte("m"), 1000)
			for range 4 {
				wg.Go(func() {
					for range 50 { // the engine never sends concurrently; Close may race any Send
						if err := tr.Send(msg); err != nil {
							return
						}
					}
				})
				wg.Go(func() { tr.Close() })
				wg.Wait()
			}
			s.Close()
			if err := rec.wait(t); err != nil {
				t.Fatalf("Closed(%v), want nil", err)
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCloseBeforeStart(t *testing.T) {
	c, _ := tcpPair(t)
	tr := NewTransport(c)
	tr.Close()
	tr.Close()
	rec := newRecorder(t)
	tr.Start(rec)
	if err := rec.wait(t); err != nil {
		t.Fatalf("Closed(%v)", err)
	}
}

// TestCloseUnblocksSend: a Send stuck on a peer that does not read returns
// once Close is called.
func TestCloseUnblocksSend(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			tr := newTransport(c, nil)
			tr.writeTimeout = time.Hour
			rec := newRecorder(t)
			tr.Start(rec)
			big := bytes.Repeat([]byte("z"), 1<<20)
			done := make(chan error, 1)
			go func() {
				for {
					if err := tr.Send(big); err != nil {
						done <- err
						return
					}
				}
			}()
			tr.Close()
			if err := <-done; !errors.Is(err, jstp.ErrTransportClosed) {
				t.Fatalf("Send: %v, want ErrTransportClosed", err)
			}
			s.Close() // rather than make the reader wait CloseTimeout for it
			rec.wait(t)
		})
	}
}

func TestWriteTimeout(t *testing.T) {
	c, _ := tcpPair(t) // the peer never reads
	tr := newTransport(c, nil)
	tr.writeTimeout = 50 * time.Millisecond
	rec := newRecorder(t)
	tr.Start(rec)
	big := bytes.Repeat([]byte("z"), 1<<20)
	var err error
	for err == nil {
		err = tr.Send(big)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Send: %v, want a timeout", err)
	}
	if err := rec.wait(t); err == nil {
		t.Fatal("Closed(nil) after a write timeout")
	}
}

func TestBreak(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			c, s := p.make(t)
			ct, st := NewTransport(c), NewTransport(s)
			cr, sr := newRecorder(t), newRecorder(t)
			ct.Start(cr)
			st.Start(sr)
			if err := ct.Send([]byte("{a:1}")); err != nil {
				t.Fatal(err)
			}
			sr.next(t)
			ct.(interface{ Break() }).Break()
			if err := cr.wait(t); !errors.Is(err, jstp.ErrTransportBroken) {
				t.Errorf("local Closed(%v), want ErrTransportBroken", err)
			}
			err := sr.wait(t)
			if (p.name == "tcp" || p.name == "tls") && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("peer Closed(%v), want a reset", err)
			}
			st.Close()
		})
	}
}
