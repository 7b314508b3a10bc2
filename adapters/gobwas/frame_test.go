package gobwas

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// frame builds one wire frame; a zero mask means unmasked.
func frame(op ws.OpCode, fin bool, payload []byte, masked bool) []byte {
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: masked}
	if masked {
		h.Mask = [4]byte{0x11, 0x22, 0x33, 0x44}
	}
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	p := bytes.Clone(payload)
	if masked {
		ws.Cipher(p, h.Mask, 0)
	}
	b.Write(p)
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// recordHandler collects what a frameReader decodes.
type recordHandler struct {
	msgs  []string
	ctrls []string
}

func (h *recordHandler) message(data []byte) error {
	h.msgs = append(h.msgs, string(data))
	return nil
}

func (h *recordHandler) control(op ws.OpCode, p []byte) error {
	h.ctrls = append(h.ctrls, opName[op]+":"+string(p))
	return nil
}

// feedChunks feeds stream to a fresh reader in chunks of size n (0: whole).
func feedChunks(masked bool, stream []byte, n int) (*recordHandler, *frameReader, error) {
	r := &frameReader{masked: masked}
	h := &recordHandler{}
	stream = bytes.Clone(stream)
	if n <= 0 {
		n = len(stream)
	}
	for len(stream) > 0 {
		k := min(n, len(stream))
		if err := r.feed(stream[:k], h); err != nil {
			return h, r, err
		}
		stream = stream[k:]
	}
	return h, r, nil
}

func TestFrameReader(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70000)
	cases := []struct {
		name   string
		masked bool
		stream []byte
		msgs   []string
		ctrls  []string
		code   ws.StatusCode // expected failure, 0 for none
	}{
		{
			name:   "single text",
			masked: true,
			stream: frame(ws.OpText, true, []byte("{call:[1,'a']}"), true),
			msgs:   []string{"{call:[1,'a']}"},
		},
		{
			name:   "client side unmasked",
			masked: false,
			stream: frame(ws.OpText, true, []byte("hello"), false),
			msgs:   []string{"hello"},
		},
		{
			name:   "two messages and an empty one",
			masked: true,
			stream: cat(frame(ws.OpText, true, []byte("a"), true), frame(ws.OpText, true, nil, true), frame(ws.OpText, true, []byte("b"), true)),
			msgs:   []string{"a", "", "b"},
		},
		{
			name:   "long header lengths",
			masked: true,
			stream: cat(frame(ws.OpText, true, big[:300], true), frame(ws.OpText, true, big, true)),
			msgs:   []string{string(big[:300]), string(big)},
		},
		{
			name:   "fragmented with ping in between",
			masked: true,
			stream: cat(
				frame(ws.OpText, false, []byte("ab"), true),
				frame(ws.OpPing, true, []byte("p"), true),
				frame(ws.OpContinuation, false, []byte("cd"), true),
				frame(ws.OpContinuation, true, []byte("ef"), true),
			),
			msgs:  []string{"abcdef"},
			ctrls: []string{"ping:p"},
		},
		{
			name:   "binary accepted as text",
			masked: true,
			stream: frame(ws.OpBinary, true, []byte("bin"), true),
			msgs:   []string{"bin"},
		},
		{
			name:   "binary with invalid UTF-8 is decoded",
			masked: true,
			stream: frame(ws.OpBinary, true, []byte{'a', 0xff, 'b'}, true),
			msgs:   []string{"a\uFFFDb"},
		},
		{
			name:   "pong and close are reported",
			masked: true,
			stream: cat(frame(ws.OpPong, true, []byte("x"), true), frame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye"), true)),
			ctrls:  []string{"pong:x", "close:" + string(ws.NewCloseFrameBody(1000, "bye"))},
		},
		{
			name:   "text with invalid UTF-8",
			masked: true,
			stream: frame(ws.OpText, true, []byte{0xff}, true),
			code:   ws.StatusInvalidFramePayloadData,
		},
		{
			name:   "unmasked frame from a client",
			masked: true,
			stream: frame(ws.OpText, true, []byte("a"), false),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "masked frame from a server",
			masked: false,
			stream: frame(ws.OpText, true, []byte("a"), true),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "reserved bits",
			masked: true,
			stream: func() []byte { b := frame(ws.OpText, true, []byte("a"), true); b[0] |= 0x40; return b }(),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "reserved opcode",
			masked: true,
			stream: frame(ws.OpCode(3), true, []byte("a"), true),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "control frame too long",
			masked: true,
			stream: frame(ws.OpPing, true, big[:126], true),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "fragmented control frame",
			masked: true,
			stream: frame(ws.OpPing, false, []byte("a"), true),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "continuation without a start",
			masked: true,
			stream: frame(ws.OpContinuation, true, []byte("a"), true),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "new message inside a fragmented one",
			masked: true,
			stream: cat(frame(ws.OpText, false, []byte("a"), true), frame(ws.OpText, true, []byte("b"), true)),
			code:   ws.StatusProtocolError,
		},
		{
			name:   "frame over 8 MiB announced",
			masked: true,
			stream: cat(header(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: MaxMessageSize + 1}), []byte("abc")),
			code:   ws.StatusMessageTooBig,
		},
		{
			name:   "length with the top bit set",
			masked: true,
			stream: []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
			code:   ws.StatusProtocolError,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 2, 3, 7, 13, 1000} {
				h, r, err := feedChunks(c.masked, c.stream, chunk)
				if c.code != 0 {
					var ce *CloseError
					if !errors.As(err, &ce) || ce.Code != c.code || !ce.Local {
						t.Fatalf("chunk %d: got error %v, want close code %d", chunk, err, c.code)
					}
					continue
				}
				if err != nil {
					t.Fatalf("chunk %d: unexpected error %v", chunk, err)
				}
				if !equalStrings(h.msgs, c.msgs) {
					t.Fatalf("chunk %d: messages %q, want %q", chunk, short(h.msgs), short(c.msgs))
				}
				if !equalStrings(h.ctrls, c.ctrls) {
					t.Fatalf("chunk %d: control frames %q, want %q", chunk, h.ctrls, c.ctrls)
				}
				if r.st != nil {
					t.Fatalf("chunk %d: reader keeps state after complete messages", chunk)
				}
			}
		})
	}
}

var opName = map[ws.OpCode]string{ws.OpPing: "ping", ws.OpPong: "pong", ws.OpClose: "close"}

func header(h ws.Header) []byte {
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func short(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 20 {
			s = s[:20] + "..."
		}
		out[i] = s
	}
	return out
}

// TestFrameReaderSizeLimit: a message of exactly MaxMessageSize passes, one
// byte more across fragments fails with 1009.
func TestFrameReaderSizeLimit(t *testing.T) {
	half := bytes.Repeat([]byte("y"), MaxMessageSize/2)
	cases := []struct {
		name string
		last int // length of the final fragment
		code ws.StatusCode
	}{
		{
			name: "exactly 8 MiB",
			last: MaxMessageSize / 2,
		},
		{
			name: "8 MiB plus one",
			last: MaxMessageSize/2 + 1,
			code: ws.StatusMessageTooBig,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &frameReader{masked: true}
			h := &recordHandler{}
			if err := r.feed(frame(ws.OpText, false, half, true), h); err != nil {
				t.Fatalf("first fragment: %v", err)
			}
			last := cat(half, []byte("z"))[:c.last]
			err := r.feed(frame(ws.OpContinuation, true, last, true), h)
			if c.code == 0 {
				if err != nil || len(h.msgs) != 1 || len(h.msgs[0]) != MaxMessageSize {
					t.Fatalf("got %v and %d messages, want one of 8 MiB", err, len(h.msgs))
				}
				return
			}
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != c.code {
				t.Fatalf("got %v, want close code %d", err, c.code)
			}
		})
	}
}

// TestParseHeaderMatchesLibrary cross-checks the incremental header parser
// with the library's ReadHeader.
func TestParseHeaderMatchesLibrary(t *testing.T) {
	for _, length := range []int64{0, 1, 125, 126, 127, 65535, 65536, 1 << 30} {
		for _, masked := range []bool{false, true} {
			want := ws.Header{Fin: length%2 == 0, OpCode: ws.OpBinary, Length: length, Masked: masked}
			if masked {
				want.Mask = [4]byte{1, 2, 3, 4}
			}
			b := header(want)
			for cut := range len(b) {
				if _, _, ok, err := parseHeader(b[:cut]); ok || err != nil {
					t.Fatalf("length %d: parsed a header cut at %d of %d", length, cut, len(b))
				}
			}
			got, n, ok, err := parseHeader(b)
			lib, lerr := ws.ReadHeader(bytes.NewReader(b))
			if !ok || err != nil || lerr != nil || n != len(b) || got != lib || got != want {
				t.Fatalf("length %d masked %v: got %+v (%d, %v, %v), library %+v (%v)", length, masked, got, n, ok, err, lib, lerr)
			}
		}
	}
}

// readFrames decodes a byte stream with the library's reader.
func readFrames(t *testing.T, r io.Reader) []ws.Frame {
	t.Helper()
	var frames []ws.Frame
	for {
		h, err := ws.ReadHeader(r)
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		frames = append(frames, ws.Frame{Header: h, Payload: p})
	}
}

func TestWriteMessageFragments(t *testing.T) {
	cases := []struct {
		name   string
		size   int
		frames int
	}{
		{name: "empty", size: 0, frames: 1},
		{name: "small", size: 10, frames: 1},
		{name: "exactly 1 MiB", size: MaxFragmentSize, frames: 1},
		{name: "1 MiB plus one", size: MaxFragmentSize + 1, frames: 2},
		{name: "2.5 MiB", size: 5 * MaxFragmentSize / 2, frames: 3},
	}
	for _, c := range cases {
		for _, mask := range []bool{false, true} {
			t.Run(c.name, func(t *testing.T) {
				msg := []byte(strings.Repeat("abcdefg", c.size/7+1)[:c.size])
				orig := bytes.Clone(msg)
				var out bytes.Buffer
				if err := writeMessage(&out, msg, mask); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(msg, orig) {
					t.Fatal("writeMessage modified its argument")
				}
				frames := readFrames(t, &out)
				if len(frames) != c.frames {
					t.Fatalf("%d frames, want %d", len(frames), c.frames)
				}
				var got []byte
				for i, f := range frames {
					wantOp := ws.OpContinuation
					if i == 0 {
						wantOp = ws.OpText
					}
					if f.Header.OpCode != wantOp || f.Header.Fin != (i == len(frames)-1) || f.Header.Masked != mask {
						t.Fatalf("frame %d: header %+v", i, f.Header)
					}
					if f.Header.Length > MaxFragmentSize {
						t.Fatalf("frame %d of %d bytes exceeds 1 MiB", i, f.Header.Length)
					}
					got = append(got, f.Payload...)
				}
				if !bytes.Equal(got, orig) {
					t.Fatal("payload differs after reassembly")
				}
			})
		}
	}
}

// TestWriteParts: a message written in parts makes the frames writeMessage
// makes of the whole message (byte for byte without a mask; the same
// headers and payloads with one), whatever the cuts, and the parts are left
// as they were.
func TestWriteParts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sizes := []int{0, 1, 200, MaxFragmentSize - 1, MaxFragmentSize, MaxFragmentSize + 1, 5*MaxFragmentSize/2 + 3}
	for _, size := range sizes {
		msg := []byte(strings.Repeat("abcdefg", size/7+1)[:size])
		for round := range 4 {
			// Cut msg at random places, with empty parts among them.
			var parts [][]byte
			for rest := msg; ; {
				n := 0
				if len(rest) > 0 && r.IntN(4) != 0 {
					n = 1 + r.IntN(len(rest))
					if round == 0 {
						n = len(rest)
					}
				}
				parts = append(parts, rest[:n])
				rest = rest[n:]
				if len(rest) == 0 && r.IntN(2) == 0 {
					break
				}
			}
			orig := make([][]byte, len(parts))
			for i, p := range parts {
				orig[i] = bytes.Clone(p)
			}
			for _, mask := range []bool{false, true} {
				var whole, inParts bytes.Buffer
				if err := writeMessage(&whole, msg, mask); err != nil {
					t.Fatal(err)
				}
				if err := writeParts(&inParts, slices.Clone(parts), mask); err != nil {
					t.Fatal(err)
				}
				if !mask {
					if !bytes.Equal(inParts.Bytes(), whole.Bytes()) {
						t.Fatalf("%d bytes in %d parts: the frames differ from writeMessage's", size, len(parts))
					}
					continue
				}
				want, got := readFrames(t, &whole), readFrames(t, &inParts)
				if len(got) != len(want) {
					t.Fatalf("%d bytes in %d parts, masked: %d frames, want %d", size, len(parts), len(got), len(want))
				}
				for i := range want {
					gh, wh := got[i].Header, want[i].Header
					if gh.Fin != wh.Fin || gh.OpCode != wh.OpCode || gh.Length != wh.Length || !gh.Masked || !bytes.Equal(got[i].Payload, want[i].Payload) {
						t.Fatalf("%d bytes in %d parts, masked: frame %d differs", size, len(parts), i)
					}
				}
			}
			for i := range parts {
				if !bytes.Equal(parts[i], orig[i]) {
					t.Fatalf("part %d was modified", i)
				}
			}
		}
	}
}
