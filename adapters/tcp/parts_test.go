package tcp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	jstp "github.com/jstp-go/jstp/core"
)

// partsCases are messages in parts that SendParts must deliver whole.
var partsCases = []struct {
	name  string
	parts []string
}{
	{"one small", []string{"{ping:[1]}"}},
	{"small ones", []string{"{call:[1,'i'],m:['", "abc", "']}"}},
	{"a long one between small ones", []string{"{call:[2,'i'],m:['", strings.Repeat("x", 100<<10), "']}"}},
	{"long first and last", []string{strings.Repeat("a", partCopyMax), "','", strings.Repeat("b", 300<<10)}},
	{"at the copy limit", []string{"{", strings.Repeat("c", partCopyMax-1), strings.Repeat("d", partCopyMax), "}"}},
	{"empty parts", []string{"", "{a:", "", strings.Repeat("e", 70<<10), "", "1}", ""}},
	{"longs in a row", []string{strings.Repeat("f", 1<<20), strings.Repeat("g", 64<<10), strings.Repeat("h", 5<<10)}},
	{"non-ASCII", []string{"{x:['", strings.Repeat("日本", 3000), "']}"}},
}

func TestSendParts(t *testing.T) {
	for _, p := range pairs {
		for _, c := range partsCases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				cc, sc := p.make(t)
				ct, st := NewTransport(cc), NewTransport(sc)
				cr, sr := newRecorder(t), newRecorder(t)
				ct.Start(cr)
				st.Start(sr)
				parts, orig := toBytes(c.parts), toBytes(c.parts)
				errc := make(chan error, 1)
				go func() {
					err := ct.(jstp.PartsSender).SendParts(parts)
					if err == nil {
						err = ct.Send([]byte("{after:1}")) // still framed
					}
					errc <- err
				}()
				if got, want := sr.next(t), strings.Join(c.parts, ""); got != want {
					t.Fatalf("got a message of %d bytes, want the %d of the parts", len(got), len(want))
				}
				if got := sr.next(t); got != "{after:1}" {
					t.Fatalf("after the parts: got %q", got)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				for i := range parts {
					if !bytes.Equal(parts[i], orig[i]) {
						t.Fatalf("part %d was modified", i)
					}
				}
				ct.Close()
				if err := sr.wait(t); err != nil {
					t.Errorf("peer Closed(%v), want nil", err)
				}
				st.Close()
				if err := cr.wait(t); err != nil {
					t.Errorf("Closed(%v), want nil", err)
				}
			})
		}
	}
}

// TestSendPartsWrites checks how a message in parts is written: short
// parts copied together, long ones from their own memory, and (over a
// connection without writev, which net.Pipe is) one Write each.
func TestSendPartsWrites(t *testing.T) {
	long := strings.Repeat("L", partCopyMax)
	cases := []struct {
		name   string
		parts  []string
		writes int32
	}{
		{"short ones", []string{"{a:['", "b", "']}"}, 1},
		{"a long one between short ones", []string{"{a:['", long, "']}"}, 3},
		{"only a long one", []string{long}, 2},      // it, then its NUL
		{"longs in a row", []string{long, long}, 3}, // no empty write between them
		{"short, long, nothing after", []string{"{", long, ""}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkWrites(t, func(tr jstp.Transport) error {
				return tr.(jstp.PartsSender).SendParts(toBytes(c.parts))
			}, c.writes, strings.Join(c.parts, "")+"\x00")
		})
	}
}

// TestSendPartsRejectsNUL: a NUL byte in any part refuses the message
// before anything is written, and the transport stays usable.
func TestSendPartsRejectsNUL(t *testing.T) {
	for _, parts := range [][]string{
		{"a\x00"},
		{"{", strings.Repeat("x", partCopyMax) + "\x00", "}"},
		{strings.Repeat("y", 100<<10), "\x00}"},
	} {
		t.Run(fmt.Sprintf("%d parts", len(parts)), func(t *testing.T) {
			checkRefusedNUL(t, func(tr jstp.Transport) error {
				return tr.(jstp.PartsSender).SendParts(toBytes(parts))
			})
		})
	}
}

func TestSendPartsAfterClose(t *testing.T) {
	c, _ := tcpPair(t)
	tr := NewTransport(c)
	rec := newRecorder(t)
	tr.Start(rec)
	tr.Close()
	if err := tr.(jstp.PartsSender).SendParts([][]byte{[]byte("{a:"), []byte("1}")}); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendParts after Close: %v", err)
	}
	rec.wait(t)
}
