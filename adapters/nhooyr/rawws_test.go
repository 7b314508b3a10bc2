package nhooyr

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

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

type frame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// rawPeer is one end of a WebSocket connection driven frame by frame.
type rawPeer struct {
	conn   net.Conn
	br     *bufio.Reader
	client bool // masks what it sends
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// rawDial performs the client handshake by hand. protocols is sent as
// Sec-WebSocket-Protocol unless empty. It returns the peer and the HTTP
// status code.
func rawDial(t testing.TB, addr string, protocols string, extra http.Header) (*rawPeer, int) {
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
	return &rawPeer{conn: conn, br: br, client: true}, resp.StatusCode
}

// rawListen accepts one WebSocket connection by hand on a fresh 127.0.0.1
// port, agreeing to metarhia-jstp. The peer arrives on the channel.
func rawListen(t testing.TB) (url string, peers <-chan *rawPeer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *rawPeer, 1)
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
			acceptKey(req.Header.Get("Sec-WebSocket-Key")), Subprotocol)
		ch <- &rawPeer{conn: conn, br: br}
	}()
	return "ws://" + l.Addr().String() + "/", ch
}

func (p *rawPeer) writeFrame(f frame) error {
	return p.writeHeader(f.fin, f.opcode, len(f.payload), f.payload)
}

// writeHeader writes a frame header announcing n payload bytes followed by
// payload, which may be shorter than n (or nil) to announce more than is
// sent.
func (p *rawPeer) writeHeader(fin bool, opcode byte, n int, payload []byte) error {
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
	if p.client {
		out[1] |= 0x80
		var key [4]byte
		rand.Read(key[:])
		out = append(out, key[:]...)
		for j := range body {
			body[j] ^= key[j%4]
		}
	}
	_, err := p.conn.Write(append(out, body...))
	return err
}

func (p *rawPeer) readFrame() (frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, opcode: h[0] & 0x0f}
	masked := h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(p.br, b[:]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(p.br, b[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 64<<20 {
		return frame{}, errors.New("absurd frame length")
	}
	var key [4]byte
	if masked {
		if _, err := io.ReadFull(p.br, key[:]); err != nil {
			return frame{}, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.payload); err != nil {
		return frame{}, err
	}
	if masked {
		for j := range f.payload {
			f.payload[j] ^= key[j%4]
		}
	}
	return f, nil
}

// readMessage reads the frames of one data message, skipping control
// frames, and returns them.
func (p *rawPeer) readMessage() ([]frame, error) {
	var frames []frame
	for {
		f, err := p.readFrame()
		if err != nil {
			return frames, err
		}
		if f.opcode >= opClose {
			if f.opcode == opClose {
				return frames, fmt.Errorf("close frame %d", closeCode(f))
			}
			continue
		}
		frames = append(frames, f)
		if f.fin {
			return frames, nil
		}
	}
}

// readClose reads frames until a close frame and returns its code.
func (p *rawPeer) readClose() (int, error) {
	for {
		f, err := p.readFrame()
		if err != nil {
			return 0, err
		}
		if f.opcode == opClose {
			return closeCode(f), nil
		}
	}
}

func closeCode(f frame) int {
	if len(f.payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(f.payload))
}

func closePayload(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

func addrOf(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
}
