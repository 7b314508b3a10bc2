package wstest

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
)

// A raw client and a raw server talk to each other: handshake, data
// frames (masked one way, not the other), messages split by a ping, close.
func TestRawPeers(t *testing.T) {
	url, peers := RawListen(t, "metarhia-jstp")
	client, code := RawDial(t, AddrOf(url), "metarhia-jstp", http.Header{"Origin": {"http://x"}})
	if code != http.StatusSwitchingProtocols || client == nil {
		t.Fatalf("RawDial: %d", code)
	}
	server := <-peers

	sent := []Frame{
		{Fin: false, Opcode: OpText, Payload: []byte("ab")},
		{Fin: true, Opcode: OpPing, Payload: []byte("p")},
		{Fin: true, Opcode: OpContinuation, Payload: Pattern(70000)},
	}
	for _, f := range sent {
		if err := client.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := server.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Payload) != "ab" || !bytes.Equal(got[1].Payload, sent[2].Payload) || !got[1].Fin {
		t.Fatalf("ReadMessage got %d frames", len(got))
	}

	if err := server.WriteFrame(Frame{Fin: true, Opcode: OpBinary, Payload: []byte("back")}); err != nil {
		t.Fatal(err)
	}
	if f, err := client.ReadFrame(); err != nil || f.Opcode != OpBinary || string(f.Payload) != "back" {
		t.Fatalf("ReadFrame = %+v, %v", f, err)
	}

	if err := client.WriteFrame(Frame{Fin: true, Opcode: OpClose, Payload: ClosePayload(1001, "bye")}); err != nil {
		t.Fatal(err)
	}
	if code, err := server.ReadClose(); err != nil || code != 1001 {
		t.Fatalf("ReadClose = %d, %v", code, err)
	}
	if c := CloseCode(Frame{Opcode: OpClose}); c != 1005 {
		t.Fatalf("CloseCode of an empty close frame = %d, want 1005", c)
	}
}

func TestRecorder(t *testing.T) {
	r := NewRecorder()
	data := []byte("m")
	r.Message(data)
	data[0] = 'x'
	if got := r.WaitMessage(t); string(got) != "m" {
		t.Fatalf("WaitMessage = %q: the recorder kept the caller's buffer", got)
	}
	boom := errors.New("boom")
	r.Closed(boom)
	r.Closed(nil)
	<-r.Done
	if err := r.WaitClosed(t); !errors.Is(err, boom) {
		t.Fatalf("WaitClosed = %v", err)
	}
	if n := r.Calls.Load(); n != 2 {
		t.Fatalf("Calls = %d", n)
	}
}

func TestRepeatMsgs(t *testing.T) {
	msgs := RepeatMsgs(3, 40)
	if len(msgs) != 3 || len(msgs[0]) != 40 || bytes.Equal(msgs[0], msgs[1]) {
		t.Fatalf("RepeatMsgs(3, 40) = %q", msgs)
	}
}
