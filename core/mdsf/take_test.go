package mdsf

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// limitedReader returns at most n bytes per Read.
type limitedReader struct {
	data []byte
	n    func() int
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n())], r.data)
	r.data = r.data[k:]
	return k, nil
}

// TestSplitterTake feeds random streams of small and large messages,
// taking some of the large ones (and giving back some of those, at random
// later points, so that the buffers are reused): every message must come
// out whole, and every taken one must stay intact until given back.
func TestSplitterTake(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 40 {
		var stream []byte
		var msgs [][]byte
		for i := range 30 {
			size := r.IntN(200)
			if r.IntN(3) == 0 {
				size = readChunk/2 + r.IntN(400<<10)
			}
			m := bytes.Repeat([]byte{byte('A' + i%26)}, size)
			if size > 0 {
				m[0] = byte('0' + round%10)
			}
			msgs = append(msgs, m)
			stream = append(append(stream, m...), 0)
		}
		type held struct {
			msg, want []byte
			giveBack  func()
		}
		var kept []held
		var s Splitter
		var got int
		emit := func(msg []byte) error {
			if got >= len(msgs) || !bytes.Equal(msg, msgs[got]) {
				t.Fatalf("round %d: message %d of %d bytes is not the one sent", round, got, len(msg))
			}
			got++
			if r.IntN(2) == 0 {
				if giveBack := s.Take(); giveBack != nil {
					if len(msg) < readChunk {
						t.Fatalf("round %d: Take of a message of %d bytes, which fits the small buffer", round, len(msg))
					}
					// A second Take is a second hold: giving it back
					// leaves the first.
					if again := s.Take(); again == nil {
						t.Fatal("no second Take of a message")
					} else {
						again()
					}
					kept = append(kept, held{msg: msg, want: msgs[got-1], giveBack: giveBack})
				} else if len(msg) >= readChunk {
					t.Fatalf("round %d: no Take of a message of %d bytes", round, len(msg))
				}
			}
			// Give back a random earlier one, checked first.
			if len(kept) > 0 && r.IntN(3) == 0 {
				k := r.IntN(len(kept))
				if !bytes.Equal(kept[k].msg, kept[k].want) {
					t.Fatalf("round %d: a taken message changed before it was given back", round)
				}
				kept[k].giveBack()
				kept = append(kept[:k], kept[k+1:]...)
			}
			return nil
		}
		cr := &limitedReader{data: stream, n: func() int { return 1 + r.IntN(300<<10) }}
		for {
			_, rerr, err := s.FeedFrom(cr, emit)
			if err != nil {
				t.Fatal(err)
			}
			if rerr == io.EOF {
				break
			}
		}
		if got != len(msgs) || s.Buffered() != 0 {
			t.Fatalf("round %d: %d of %d messages, %d bytes left", round, got, len(msgs), s.Buffered())
		}
		if s.Take() != nil {
			t.Fatal("Take outside emit")
		}
		for _, h := range kept {
			if !bytes.Equal(h.msg, h.want) {
				t.Fatalf("round %d: a taken message changed", round)
			}
			h.giveBack()
		}
	}
}

// TestSplitterTakeFromFeed: Feed emits from the caller's chunk, which is
// not the Splitter's to hand over.
func TestSplitterTakeFromFeed(t *testing.T) {
	var s Splitter
	big := append(bytes.Repeat([]byte("f"), 300<<10), 0)
	err := s.Feed(big, func(msg []byte) error {
		if s.Take() != nil {
			t.Fatal("Take of a message in Feed's chunk")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
