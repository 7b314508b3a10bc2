package wstest

import (
	"bytes"
	"errors"
	"testing"

	jstp "github.com/jstp-go/jstp/core"
)

// partsCases are the messages in parts CheckSendParts sends.
func (a Adapter[C]) partsCases() [][][]byte {
	return [][][]byte{
		{[]byte("{call:[1,'i'],m:['"), []byte("abc"), []byte("']}")},
		{[]byte("{a:['"), Pattern(a.MaxFrameSize*5/2 + 7), []byte("','"), Pattern(a.MaxFrameSize + 1), []byte("']}")},
		{{}, []byte("{b:"), {}, Pattern(70 << 10), {}, []byte("}"), {}},
	}
}

// CheckSendParts: a message in parts (jstp.PartsSender) arrives as one
// message, both ways; the parts are left as they were; a Send after it is
// framed as usual; and after Close, SendParts reports
// jstp.ErrTransportClosed.
func (a Adapter[C]) CheckSendParts(t *testing.T) {
	eng, url := a.start(t, ServerOptions{})
	tr, rec := Dial(t, a.Dialer(nil, url))
	s := eng.Next(t)
	dirs := []struct {
		name string
		tr   jstp.Transport
		rec  *Recorder
	}{
		{"server to client", s.Tr, rec},
		{"client to server", tr, s.Rec},
	}
	for _, d := range dirs {
		ps, ok := d.tr.(jstp.PartsSender)
		if !ok {
			t.Fatalf("%s: %T is not a jstp.PartsSender", d.name, d.tr)
		}
		for i, parts := range a.partsCases() {
			before := make([][]byte, len(parts))
			for k, p := range parts {
				before[k] = bytes.Clone(p)
			}
			sent := make(chan error, 1)
			go func() {
				err := ps.SendParts(parts)
				if err == nil {
					err = d.tr.Send([]byte("{after:1}"))
				}
				sent <- err
			}()
			if got, want := d.rec.WaitMessage(t), bytes.Join(parts, nil); !bytes.Equal(got, want) {
				t.Fatalf("%s, case %d: a message of %d bytes, want the %d of the parts", d.name, i, len(got), len(want))
			}
			if got := d.rec.WaitMessage(t); string(got) != "{after:1}" {
				t.Fatalf("%s, case %d: then %.40q", d.name, i, got)
			}
			if err := <-sent; err != nil {
				t.Fatalf("%s, case %d: %v", d.name, i, err)
			}
			for k := range parts {
				if !bytes.Equal(parts[k], before[k]) {
					t.Fatalf("%s, case %d: part %d was modified", d.name, i, k)
				}
			}
		}
	}
	tr.Close()
	if err := tr.(jstp.PartsSender).SendParts([][]byte{[]byte("{a:"), []byte("1}")}); !errors.Is(err, jstp.ErrTransportClosed) {
		t.Fatalf("SendParts after Close: %v", err)
	}
}

// CheckPartsFrames looks at the wire: a message in parts leaves the client
// as one message whose frames are all within MaxFrameSize.
func (a Adapter[C]) CheckPartsFrames(t *testing.T) {
	url, peers := RawListen(t, a.Subprotocol)
	tr, _ := Dial(t, a.Dialer(nil, url))
	peer := AcceptPeer(t, peers)
	defer peer.Conn.Close()
	for i, parts := range a.partsCases() {
		if err := tr.(jstp.PartsSender).SendParts(parts); err != nil {
			t.Fatalf("case %d: SendParts: %v", i, err)
		}
		frames, err := peer.ReadMessage()
		if err != nil {
			t.Fatalf("case %d: read: %v", i, err)
		}
		CheckFrames(t, frames, bytes.Join(parts, nil), a.MaxFrameSize)
	}
}
