package wstest

// A minimal hand-rolled WebSocket peer, so tests can see and produce
// individual frames, including ones a real library would refuse to make.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The WebSocket opcodes (RFC 6455, section 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Frame is one WebSocket frame: its FIN bit, opcode and (unmasked)
// payload.
type Frame struct {
	Fin     bool
	Opcode  byte
	Payload []byte
}

// RawPeer is one end of a WebSocket connection driven frame by frame.
type RawPeer struct {
	// Conn is the network connection; tests may write to it or close it
	// directly.
	Conn net.Conn
	br   *bufio.Reader
	// Client makes the peer mask what it sends, as a client must.
	Client bool
}

// acceptKey is the Sec-WebSocket-Accept value answering key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// RawDial performs the client handshake by hand. protocols is sent as
// Sec-WebSocket-Protocol unless empty. It returns the peer and the HTTP
// status code.
func RawDial(t testing.TB, addr string, protocols string, extra http.Header) (*RawPeer, int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
	if protocols != "" {
		req += "Sec-WebSocket-Protocol: " + protocols + "\r\n"
	}
	for k, vs := range extra {
		for _, v := range vs {
			req += k + ": " + v + "\r\n"
		}
	}
	req += "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp.StatusCode
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		t.Fatalf("bad Sec-WebSocket-Accept %q", got)
	}
	return &RawPeer{Conn: conn, br: br, Client: true}, resp.StatusCode
}

// RawListen accepts one WebSocket connection by hand on a fresh 127.0.0.1
// port, agreeing to subprotocol (the adapters pass their Subprotocol,
// metarhia-jstp). The peer arrives on the channel.
func RawListen(t testing.TB, subprotocol string) (url string, peers <-chan *RawPeer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *RawPeer, 1)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			conn.Close()
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
			acceptKey(req.Header.Get("Sec-WebSocket-Key")), subprotocol)
		ch <- &RawPeer{Conn: conn, br: br}
	}()
	return "ws://" + l.Addr().String() + "/", ch
}

// AcceptPeer returns the peer RawListen hands over on peers, failing t if
// none arrives within WaitLimit.
func AcceptPeer(t testing.TB, peers <-chan *RawPeer) *RawPeer {
	t.Helper()
	select {
	case p := <-peers:
		return p
	case <-time.After(WaitLimit):
		t.Fatal("no connection")
		return nil
	}
}

// WriteFrame writes f, masked if the peer is a client.
func (p *RawPeer) WriteFrame(f Frame) error {
	return p.WriteHeader(f.Fin, f.Opcode, len(f.Payload), f.Payload)
}

// WriteHeader writes a frame header announcing n payload bytes followed by
// payload, which may be shorter than n (or nil) to announce more than is
// sent.
func (p *RawPeer) WriteHeader(fin bool, opcode byte, n int, payload []byte) error {
	var hdr [14]byte
	hdr[0] = opcode
	if fin {
		hdr[0] |= 0x80
	}
	i := 2
	switch {
	case n < 126:
		hdr[1] = byte(n)
	case n < 1<<16:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		i = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		i = 10
	}
	out := append([]byte(nil), hdr[:i]...)
	body := append([]byte(nil), payload...)
	if p.Client {
		out[1] |= 0x80
		var key [4]byte
		rand.Read(key[:])
		out = append(out, key[:]...)
		for j := range body {
			body[j] ^= key[j%4]
		}
	}
	_, err := p.Conn.Write(append(out, body...))
	return err
}

// ReadFrame reads one frame, unmasking it if it was masked.
func (p *RawPeer) ReadFrame() (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Fin: h[0]&0x80 != 0, Opcode: h[0] & 0x0f}
	masked := h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(p.br, b[:]); err != nil {
			return Frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(p.br, b[:]); err != nil {
			return Frame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 64<<20 {
		return Frame{}, errors.New("absurd frame length")
	}
	var key [4]byte
	if masked {
		if _, err := io.ReadFull(p.br, key[:]); err != nil {
			return Frame{}, err
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.Payload); err != nil {
		return Frame{}, err
	}
	if masked {
		for j := range f.Payload {
			f.Payload[j] ^= key[j%4]
		}
	}
	return f, nil
}

// ReadMessage reads the frames of one data message, skipping control
// frames, and returns them.
func (p *RawPeer) ReadMessage() ([]Frame, error) {
	var frames []Frame
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return frames, err
		}
		if f.Opcode >= OpClose {
			if f.Opcode == OpClose {
				return frames, fmt.Errorf("close frame %d", CloseCode(f))
			}
			continue
		}
		frames = append(frames, f)
		if f.Fin {
			return frames, nil
		}
	}
}

// ReadClose reads frames until a close frame and returns its code.
func (p *RawPeer) ReadClose() (int, error) {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return 0, err
		}
		if f.Opcode == OpClose {
			return CloseCode(f), nil
		}
	}
}

// CloseCode returns the status code of close frame f (1005 if it has none).
func CloseCode(f Frame) int {
	if len(f.Payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(f.Payload))
}

// ClosePayload returns the payload of a close frame with code and reason.
func ClosePayload(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// AddrOf returns the host:port of a ws:// URL.
func AddrOf(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
}
