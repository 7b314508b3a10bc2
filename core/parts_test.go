package jstp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/jstp-go/jstp/core/mdsf"
)

// partsEnd is a PipeEnd that is also a PartsSender; it records what each
// SendParts was given.
type partsEnd struct {
	*PipeEnd
	mu    sync.Mutex
	sends [][]*byte // for each SendParts, where each of its parts starts
}

func (p *partsEnd) SendParts(parts [][]byte) error {
	starts := make([]*byte, len(parts))
	var msg []byte
	for i, part := range parts {
		if len(part) > 0 {
			starts[i] = &part[0]
		}
		msg = append(msg, part...)
	}
	p.mu.Lock()
	p.sends = append(p.sends, starts)
	p.mu.Unlock()
	return p.push(msg)
}

// sentFrom reports whether some SendParts had a part starting at s's bytes
// (the string went out from the caller's memory, not a copy).
func (p *partsEnd) sentFrom(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, starts := range p.sends {
		for _, b := range starts {
			if b == unsafe.StringData(s) {
				return true
			}
		}
	}
	return false
}

func (p *partsEnd) partsSends() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sends)
}

func TestEncodeParts(t *testing.T) {
	big := strings.Repeat("p", sendPoolMin)
	big2 := strings.Repeat("日本", sendPoolMin/3)
	tests := []struct {
		name    string
		args    []any
		omitted []int // the arguments sent from their own memory
	}{
		{name: "large plain", args: []any{big}, omitted: []int{0}},
		{name: "large UTF-8", args: []any{big2}, omitted: []int{0}},
		{name: "around others", args: []any{1.0, big, map[string]any{"a": []any{"x'y", nil}}, true}, omitted: []int{1}},
		{name: "two", args: []any{big, "small", big2}, omitted: []int{0, 2}},
		{name: "adjacent", args: []any{big, big}, omitted: []int{0, 1}},
		{name: "with undefined", args: []any{mdsf.Undefined, big}, omitted: []int{1}},
		{name: "needs escapes", args: []any{big + "'"}},
		{name: "control byte", args: []any{"\n" + big}},
		{name: "invalid UTF-8", args: []any{big + "\xff"}},
		{name: "one byte short", args: []any{big[1:]}},
		{name: "no arguments"},
		{name: "not a string", args: []any{[]byte(big)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, _, err := encodeWhole("iface", "method", tt.args, false)
			if err != nil {
				t.Fatal(err)
			}
			framed, rest, sb, err := encodeFramed("iface", "method", tt.args, true, true)
			if err != nil {
				t.Fatal(err)
			}
			if sb != nil {
				sb.put()
			}
			if len(tt.omitted) == 0 {
				if rest != nil {
					t.Fatalf("in %d parts, want one", 1+len(rest))
				}
				return
			}
			if sb != nil {
				t.Fatal("a message in parts also took a pooled buffer")
			}
			if len(rest) != 2*len(tt.omitted) {
				t.Fatalf("%d parts after the first, want %d", len(rest), 2*len(tt.omitted))
			}
			for k, i := range tt.omitted {
				s := tt.args[i].(string)
				if &rest[2*k][0] != unsafe.StringData(s) || len(rest[2*k]) != len(s) {
					t.Errorf("part %d is not argument %d itself", 2*k+1, i)
				}
			}
			if got := joinParts(framed, rest); string(got[frameRoom:]) != string(whole[frameRoom:]) {
				t.Fatalf("the parts make\n%.200s\nnot\n%.200s", got[frameRoom:], whole[frameRoom:])
			}
			// Numbering writes into the first part only, as for a whole message.
			o := &outgoing{framed: framed, kind: "call"}
			if msg := string(joinParts(o.frame(7), rest)); !strings.HasPrefix(msg, "{call:[7,'iface'],method:[") || !strings.HasSuffix(msg, "]}") {
				t.Fatalf("numbered: %.60s…%s", msg, msg[max(0, len(msg)-20):])
			}
		})
	}
	if _, _, _, err := encodeFramed("iface", "method", []any{big, make(chan int)}, true, true); err == nil {
		t.Fatal("an unencodable argument after a large one was not reported")
	}
	for _, c := range []struct {
		what        string
		pool, parts bool
	}{
		{"for a transport that cannot send them", true, false},
		{"while log events carry the messages", false, true},
	} {
		_, rest, sb, err := encodeFramed("iface", "method", []any{big}, c.pool, c.parts)
		if sb != nil {
			sb.put()
		}
		if err != nil || rest != nil {
			t.Fatalf("in parts %s (error %v)", c.what, err)
		}
	}
}

// partsApp serves blob.hash (see hashApp) and blob.hashAll, which answers
// with the SHA-256 of its arguments, written one after the other.
func partsApp() *Application {
	app := hashApp()
	app.HandleRaw("blob", "hashAll", -1, func(_ context.Context, _ *Connection, args []any) ([]any, error) {
		return []any{hashOf(fmt.Sprint(args...))}, nil
	})
	return app
}

func TestCallInParts(t *testing.T) {
	big := strings.Repeat("a", 100000)
	for _, tc := range []struct {
		name      string
		args      []any
		fromOwn   []string // arguments that must go out from the caller's memory
		wantParts bool
		hook      bool
	}{
		{name: "large plain", args: []any{big}, fromOwn: []string{big}, wantParts: true},
		{name: "two large and a small", args: []any{big, "x", big + "b"}, fromOwn: []string{big}, wantParts: true},
		{name: "needs escapes", args: []any{big + "\n"}},
		{name: "small", args: []any{"small"}},
		{name: "hook set", args: []any{big}, hook: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := testServer(t, ServerOptions{Applications: []*Application{partsApp()}})
			var end *partsEnd
			dial := func(context.Context) (Transport, error) {
				a, b := Pipe()
				srv.Serve(b)
				end = &partsEnd{PipeEnd: a}
				return end, nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var opts *Client
			if tc.hook {
				opts = &Client{Hook: func(LogEvent) {}}
			}
			conn, err := Connect(ctx, "hashApp", opts, dial)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			res, err := conn.Call(ctx, "blob", "hashAll", tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0] != hashOf(fmt.Sprint(tc.args...)) {
				t.Fatal("the server read other arguments than those sent")
			}
			if got := end.partsSends() > 0; got != tc.wantParts {
				t.Fatalf("sent in parts: %v, want %v", got, tc.wantParts)
			}
			for _, s := range tc.fromOwn {
				if !end.sentFrom(s) {
					t.Fatalf("an argument of %d bytes was copied", len(s))
				}
			}
			if n := sendBufsOut.Load(); n != 0 {
				t.Fatalf("%d pooled send buffers out", n)
			}
		})
	}
}

// TestCallInPartsResend: a call made in parts while the connection is down
// waits in the session (which keeps the caller's string) and is sent on
// resumption, in parts or, over a transport without SendParts, whole.
func TestCallInPartsResend(t *testing.T) {
	for _, partsAgain := range []bool{true, false} {
		t.Run(fmt.Sprintf("SendParts after resumption: %v", partsAgain), func(t *testing.T) {
			reconnected := make(chan *Connection, 4)
			srv, _ := testServer(t, ServerOptions{Applications: []*Application{partsApp()}, OnReconnect: func(c *Connection) { reconnected <- c }})
			gate := make(chan struct{})
			redialing := make(chan struct{}, 1)
			var gateOnce sync.Once
			defer gateOnce.Do(func() { close(gate) })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var mu sync.Mutex
			var ends []*PipeEnd
			var second *partsEnd
			dial := func(ctx context.Context) (Transport, error) {
				mu.Lock()
				n := len(ends)
				mu.Unlock()
				if n > 0 {
					select {
					case redialing <- struct{}{}:
					default: // a later attempt
					}
					select {
					case <-gate:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				a, b := Pipe()
				srv.Serve(b)
				mu.Lock()
				defer mu.Unlock()
				ends = append(ends, a)
				if n == 0 || partsAgain {
					pe := &partsEnd{PipeEnd: a}
					if n > 0 {
						second = pe
					}
					return pe, nil
				}
				return a, nil
			}
			conn, err := Connect(ctx, "hashApp", &Client{Reconnector: fastReconnector()}, dial)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			mu.Lock()
			ends[0].Break()
			mu.Unlock()
			select {
			case <-redialing:
			case <-ctx.Done():
				t.Fatal("no reconnection attempt")
			}
			numbered := make(chan struct{}, 1)
			hook := func() { numbered <- struct{}{} }
			testHookNumbered.Store(&hook)
			t.Cleanup(func() { testHookNumbered.Store(nil) })
			arg := strings.Repeat("wait for me ", 10000)
			done := make(chan error, 1)
			go func() {
				res, err := conn.Call(ctx, "blob", "hashAll", arg)
				if err == nil && (len(res) != 1 || res[0] != hashOf(arg)) {
					err = fmt.Errorf("the server read another argument than the one sent")
				}
				done <- err
			}()
			select {
			case <-numbered:
			case <-ctx.Done():
				t.Fatal("the call was never made")
			}
			testHookNumbered.Store(nil)
			// The session keeps the message in its parts.
			s := conn.Session()
			s.mu.Lock()
			inParts := len(s.buffer) == 1 && len(s.buffer[0].rest) == 2
			s.mu.Unlock()
			if !inParts {
				t.Fatal("the call waits in the session, but not in parts")
			}
			gateOnce.Do(func() { close(gate) })
			select {
			case <-reconnected:
			case <-ctx.Done():
				t.Fatal("no resume")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if partsAgain && !second.sentFrom(arg) {
				t.Fatal("not resent from the caller's string")
			}
		})
	}
}

func TestSessionExportInParts(t *testing.T) {
	s := newSession("", "")
	big := strings.Repeat("q", 40)
	s.buffer = []bufferedMessage{{id: 1, msg: []byte("{call:[1,'i'],m:['"), rest: [][]byte{[]byte(big), []byte("',1]}")}}}
	s.lastID = 1
	got, err := ImportSession(s.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.buffer) != 1 || string(got.buffer[0].msg) != "{call:[1,'i'],m:['"+big+"',1]}" {
		t.Fatalf("buffer %+v", got.buffer)
	}
}
