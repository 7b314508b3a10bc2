package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	gws "github.com/gorilla/websocket"
	jstp "github.com/jstp-go/jstp/core"
)

// Adapter describes one Go transport under test: how to serve JSTP and a
// raw echo over it (in the server child process) and how to dial both (in
// the load generator).
type Adapter struct {
	Name      string // gorilla, gobwas, nhooyr, tcp, unix
	Transport string // ws, tcp or unix: the Node reference transport it compares with
	Note      string // what the Go load generator dials with, when not the adapter itself

	// ServeJSTP serves srv options on l until stop is called.
	ServeJSTP func(opts jstp.ServerOptions, l net.Listener) (stop func(context.Context) error, err error)
	// Dial returns a jstp.Dialer to addr; local, when not nil, is the
	// source address of the client socket.
	Dial func(addr string, local net.IP) jstp.Dialer
	// ServeEcho serves the raw echo on l: every message is answered with
	// ack.
	ServeEcho func(l net.Listener, ack []byte) (stop func(), err error)
	// DialEcho opens a raw client connection.
	DialEcho func(ctx context.Context, addr string) (EchoConn, error)
}

// EchoConn is the client side of a raw echo connection. Write and Read
// may run concurrently with each other (one goroutine each).
type EchoConn interface {
	Write(msg []byte) error
	Read() (int, error) // one whole message; returns its length
	Close() error
}

var adapters = map[string]*Adapter{}

func register(a *Adapter) { adapters[a.Name] = a }

// AdapterNames lists the registered adapters in table order.
func AdapterNames() []string {
	var names []string
	for _, n := range []string{"gorilla", "gobwas", "nhooyr", "tcp", "unix"} {
		if adapters[n] != nil {
			names = append(names, n)
		}
	}
	return names
}

// listen opens the listener an adapter serves on: loopback TCP on a fresh
// port, or a Unix socket in dir.
func listen(a *Adapter, dir string) (net.Listener, string, error) {
	if a.Transport == "unix" {
		path := filepath.Join(dir, fmt.Sprintf("jstpbench-%d.sock", os.Getpid()))
		os.Remove(path)
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, "", err
		}
		return l, "unix://" + path, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	if a.Transport == "ws" {
		return l, "ws://" + l.Addr().String() + "/", nil
	}
	return l, "tcp://" + l.Addr().String(), nil
}

// netDialer returns a dialer bound to local (when set).
func netDialer(local net.IP) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return d
}

// hostPort strips the scheme and path of a ws://, tcp:// or unix:// address.
func hostPort(addr string) (network, address string) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		return "unix", strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "tcp://"):
		return "tcp", strings.TrimPrefix(addr, "tcp://")
	case strings.HasPrefix(addr, "ws://"):
		return "tcp", strings.TrimSuffix(strings.TrimPrefix(addr, "ws://"), "/")
	}
	return "tcp", addr
}

// ---- raw echo over gorilla/websocket ----

func gorillaEchoServe(l net.Listener, ack []byte) (func(), error) {
	up := gws.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			_, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				return
			}
			if err := c.WriteMessage(gws.TextMessage, ack); err != nil {
				return
			}
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return func() { srv.Close() }, nil
}

type gorillaEcho struct{ c *gws.Conn }

func (g gorillaEcho) Write(msg []byte) error { return g.c.WriteMessage(gws.TextMessage, msg) }
func (g gorillaEcho) Read() (int, error) {
	_, rd, err := g.c.NextReader()
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rd)
	return int(n), err
}
func (g gorillaEcho) Close() error { return g.c.Close() }

func gorillaEchoDial(ctx context.Context, addr string) (EchoConn, error) {
	c, _, err := gws.DefaultDialer.DialContext(ctx, addr, nil)
	if err != nil {
		return nil, err
	}
	return gorillaEcho{c}, nil
}

// ---- raw echo over gobwas/ws (a goroutine per connection, frames read
// with ws.ReadHeader into a reused buffer) ----

// gobwasReadMessage reads the frames of one data message from br (control
// frames are skipped; a close frame ends the connection) and returns the
// payload length; the payload itself is discarded.
func gobwasReadMessage(br *bufio.Reader) (int, error) {
	n := 0
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return n, err
		}
		if h.OpCode == ws.OpClose {
			return n, io.EOF
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			return n, err
		}
		if h.OpCode.IsControl() {
			continue
		}
		n += int(h.Length)
		if h.Fin {
			return n, nil
		}
	}
}

func gobwasEchoServe(l net.Listener, ack []byte) (func(), error) {
	frame := ws.MustCompileFrame(ws.NewTextFrame(ack))
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := ws.Upgrade(c); err != nil {
					return
				}
				br := bufio.NewReaderSize(c, 64<<10)
				for {
					if _, err := gobwasReadMessage(br); err != nil {
						return
					}
					if _, err := c.Write(frame); err != nil {
						return
					}
				}
			}()
		}
	}()
	return func() { l.Close() }, nil
}

type gobwasEcho struct {
	c  net.Conn
	br *bufio.Reader
}

// Write masks msg in place, as wsutil does: each connection has its own.
func (g gobwasEcho) Write(msg []byte) error { return wsutil.WriteClientText(g.c, msg) }
func (g gobwasEcho) Read() (int, error)     { return gobwasReadMessage(g.br) }
func (g gobwasEcho) Close() error           { return g.c.Close() }

func gobwasEchoDial(ctx context.Context, addr string) (EchoConn, error) {
	c, br, _, err := ws.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(c, 64<<10)
	}
	return gobwasEcho{c, br}, nil
}

// ---- raw echo over coder/websocket (nhooyr) ----

func coderEchoServe(l net.Listener, ack []byte) (func(), error) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{InsecureSkipVerify: true, CompressionMode: coder.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		ctx := context.Background()
		for {
			_, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				return
			}
			if err := c.Write(ctx, coder.MessageText, ack); err != nil {
				return
			}
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return func() { srv.Close() }, nil
}

type coderEcho struct{ c *coder.Conn }

func (g coderEcho) Write(msg []byte) error {
	return g.c.Write(context.Background(), coder.MessageText, msg)
}
func (g coderEcho) Read() (int, error) {
	_, rd, err := g.c.Reader(context.Background())
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rd)
	return int(n), err
}
func (g coderEcho) Close() error { return g.c.CloseNow() }

func coderEchoDial(ctx context.Context, addr string) (EchoConn, error) {
	c, _, err := coder.Dial(ctx, addr, &coder.DialOptions{CompressionMode: coder.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(-1)
	return coderEcho{c}, nil
}

// ---- raw echo over a NUL-framed socket (TCP or Unix) ----

// readFrame reads one NUL-terminated frame from br and returns its length.
func readFrame(br *bufio.Reader) (int, error) {
	n := 0
	for {
		b, err := br.ReadSlice(0)
		n += len(b)
		if err == nil {
			return n - 1, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return n, err
		}
	}
}

func socketEchoServe(l net.Listener, ack []byte) (func(), error) {
	frame := append(append([]byte(nil), ack...), 0)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				for {
					if _, err := readFrame(br); err != nil {
						return
					}
					if _, err := c.Write(frame); err != nil {
						return
					}
				}
			}()
		}
	}()
	return func() { l.Close() }, nil
}

type socketEcho struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

func (s *socketEcho) Write(msg []byte) error {
	s.buf = append(append(s.buf[:0], msg...), 0)
	_, err := s.c.Write(s.buf)
	return err
}
func (s *socketEcho) Read() (int, error) { return readFrame(s.br) }
func (s *socketEcho) Close() error       { return s.c.Close() }

func socketEchoDial(ctx context.Context, addr string) (EchoConn, error) {
	network, address := hostPort(addr)
	c, err := netDialer(nil).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &socketEcho{c: c, br: bufio.NewReaderSize(c, 64<<10)}, nil
}
