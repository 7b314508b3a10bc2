package gobwas

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gobwas/ws"
	"github.com/jstp-go/jstp/adapters/internal/readbuf"
)

// payload returns n bytes of text that differ with seed, so that bytes
// left over from an earlier message in a reused buffer are noticed.
func payload(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'a' + (byte(i)+seed)%26
	}
	return p
}

// TestFrameReaderAlternatingSizes feeds messages of changing sizes, whole
// and fragmented, through one frameReader in chunks of several sizes, as a
// connection's reads deliver them, and checks every message's bytes.
func TestFrameReaderAlternatingSizes(t *testing.T) {
	type msg struct {
		size  int
		frags int // frames it is sent in
	}
	seq := []msg{{10, 1}, {100_000, 1}, {10, 1}, {70_000, 1}, {300_000, 3}, {5, 1}, {1 << 20, 1}, {100_000, 1}, {0, 1}, {40_000, 2}}
	var stream [][]byte
	var want []string
	for i, m := range seq {
		p := payload(m.size, byte(i))
		want = append(want, string(p))
		step := (m.size + m.frags - 1) / max(m.frags, 1)
		for f := range m.frags {
			op := ws.OpText
			if f > 0 {
				op = ws.OpContinuation
			}
			part := p[min(f*step, len(p)):min((f+1)*step, len(p))]
			stream = append(stream, frame(op, f == m.frags-1, part, true))
		}
	}
	all := cat(stream...)
	for _, chunk := range []int{1000, 4096, 16 << 10, readChunkSize, 0} {
		t.Run(fmt.Sprintf("chunks of %d", chunk), func(t *testing.T) {
			h, r, err := feedChunks(true, all, chunk)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.msgs) != len(want) {
				t.Fatalf("got %d messages, want %d", len(h.msgs), len(want))
			}
			for i := range want {
				if h.msgs[i] != want[i] {
					t.Fatalf("message %d (%d bytes): wrong bytes (got %d)", i, len(want[i]), len(h.msgs[i]))
				}
			}
			if r.st != nil {
				t.Fatal("state kept after the last message")
			}
		})
	}
}

// dataHandler records where the bytes of the last message were.
type dataHandler struct{ last []byte }

func (h *dataHandler) message(data []byte) error       { h.last = data; return nil }
func (h *dataHandler) control(ws.OpCode, []byte) error { return nil }

// TestFrameReaderReusesBuffers checks that a large message cut by read
// boundaries is assembled in a pooled buffer of the size its header
// announces, which goes back to the pool once it is delivered and then
// serves the next message.
func TestFrameReaderReusesBuffers(t *testing.T) {
	for _, size := range []int{40_000, 100_000, 1<<20 + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			stream := frame(ws.OpText, true, payload(size, 1), true)
			read := func(r *frameReader) []byte {
				h := &dataHandler{}
				s := bytes.Clone(stream)
				for len(s) > 0 {
					k := min(16<<10, len(s))
					if err := r.feed(s[:k], h); err != nil {
						t.Fatal(err)
					}
					s = s[k:]
				}
				if len(h.last) != size {
					t.Fatalf("delivered %d bytes, want %d", len(h.last), size)
				}
				return h.last
			}
			r := &frameReader{masked: true}
			read(r) // warms the pool
			// Under the race detector the pool drops a quarter of the
			// buffers put in it, hence the retries.
			for range 100 {
				first := read(r)
				second := read(r)
				if &first[0] == &second[0] {
					if c := cap(second); c >= 2*size {
						t.Fatalf("buffer of %d for a message of %d", c, size)
					}
					return
				}
			}
			t.Fatal("a message was never assembled in the buffer of the one before")
		})
	}
}

// TestFrameReaderAnnouncedLength checks that a frame announcing 8 MiB of
// which little has arrived gets a buffer sized on what arrived, not on the
// announcement, when no pooled buffer is free.
func TestFrameReaderAnnouncedLength(t *testing.T) {
	for readbuf.Pooled(MaxMessageSize) != nil {
	}
	h := ws.Header{Fin: true, OpCode: ws.OpText, Length: MaxMessageSize, Masked: true}
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	b.Write(payload(3000, 0))
	r := &frameReader{masked: true}
	if err := r.feed(b.Bytes(), &recordHandler{}); err != nil {
		t.Fatal(err)
	}
	if r.st == nil || len(r.st.msg) != 3000 {
		t.Fatal("the partial message was not kept")
	}
	if c := cap(r.st.msg); c > 8<<10 {
		t.Fatalf("buffer of %d for 3000 bytes received", c)
	}
}
