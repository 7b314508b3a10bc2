package jstp

import (
	"fmt"
	"math"

	"github.com/jstp-go/jstp/core/mdsf"
)

// inMessage is an inbound message taken apart: {kind:[id, target...],
// verb: payload}.
type inMessage struct {
	kind    string
	id      int64
	iface   string // the header's second element, when it is a string
	verb    string // the second member's key; "" when there is none
	payload any    // the second member's value
	hasVerb bool
	obj     mdsf.Object // the whole message (generic parse only)
	head    []any       // the header array (generic parse only)
	lease   *argLease   // the buffer the payload's strings share, if lent
	// held is a buffer taken from the transport (MessageTaker) for a call
	// whose payload then failed to parse: the message still lies in it,
	// so it is given back only when receive is done with the message.
	held *argLease
}

// parseMessage takes data apart. Messages in the exact shape the reference
// writes (which is every call, callback, event, inspect, ping and pong a
// compatible peer sends) are read by a fast path that parses only the
// payload generically; anything else goes through the generic mdsf parser,
// so both paths accept and reject exactly the same texts. A non-object
// message yields ok == false with a nil error.
//
// A call whose method lends its arguments (see lender) may come back with
// m.lease set: the caller must release it once the payload is no longer
// used.
func parseMessage(data []byte, m *inMessage, nm *names, ln lender) (ok bool, err error) {
	if fastParse(data, m, nm, ln) {
		return true, nil
	}
	*m = inMessage{held: m.held}
	v, err := mdsf.Parse(data)
	if err != nil {
		return false, err
	}
	obj, isObj := v.(mdsf.Object)
	if !isObj {
		return false, nil
	}
	m.obj = obj
	if len(obj) == 0 {
		return true, nil
	}
	m.kind = obj[0].Key
	if len(obj) > 1 {
		m.verb, m.payload, m.hasVerb = obj[1].Key, obj[1].Value, true
	}
	head, _ := obj[0].Value.([]any)
	m.head = head
	if len(head) == 0 {
		return true, nil
	}
	m.id, _ = integerID(head[0])
	if len(head) > 1 {
		m.iface, _ = head[1].(string)
	}
	return true, nil
}

// integerID reads a message id: a number holding an integer that int64
// represents exactly.
func integerID(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// headerError says what is wrong with the message's [id, ...] header, if
// anything: it must be an array whose first element is an integer.
func (m *inMessage) headerError() error {
	if m.head == nil && m.obj != nil {
		return fmt.Errorf("%w: %s header is not [id, ...]", ErrProtocol, m.kind)
	}
	if m.head != nil {
		if _, ok := integerID(m.head[0]); !ok {
			return fmt.Errorf("%w: message id is not an integer", ErrProtocol)
		}
	}
	return nil
}

// kinds maps the kinds the fast path knows to constant strings, so reading
// one allocates nothing.
var kinds = map[string]string{
	"call": "call", "callback": "callback", "event": "event",
	"inspect": "inspect", "ping": "ping", "pong": "pong",
}

// verbs holds the common verbs of callbacks.
var verbs = map[string]string{"ok": "ok", "error": "error"}

func isIdentStart(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '$'
}

func isIdentPart(b byte) bool { return isIdentStart(b) || b >= '0' && b <= '9' }

// scanIdent returns the end of the identifier starting at i (i when none).
func scanIdent(data []byte, i int) int {
	if i >= len(data) || !isIdentStart(data[i]) {
		return i
	}
	j := i + 1
	for j < len(data) && isIdentPart(data[j]) {
		j++
	}
	return j
}

// names interns the interface and method names a peer sends, so that the
// calls of a busy connection do not allocate them again and again. It
// keeps at most maxNames of them (a peer cannot make it grow further). A
// nil *names interns nothing. Not safe for concurrent use: each transport
// has its own, used by the goroutine that delivers its messages.
type names struct{ m map[string]string }

const maxNames = 64

func (nm *names) intern(b []byte) string {
	if nm == nil {
		return string(b)
	}
	if s, ok := nm.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if nm.m == nil {
		nm.m = make(map[string]string)
	}
	if len(nm.m) < maxNames {
		nm.m[s] = s
	}
	return s
}

// fastParse reads the canonical shape {kind:[id(,'target')](,verb:[...])}
// with no whitespace, comments, escapes or non-ASCII in the header; it
// reports false for anything else, leaving the generic parser to decide.
func fastParse(data []byte, m *inMessage, nm *names, ln lender) bool {
	n := len(data)
	if n < 6 || data[0] != '{' || data[n-1] != '}' {
		return false
	}
	i := 1
	k := scanIdent(data, i)
	kind, known := kinds[string(data[i:k])]
	if !known || k+2 > n || data[k] != ':' || data[k+1] != '[' {
		return false
	}
	i = k + 2
	// The id: -?(0|[1-9][0-9]{0,14}).
	neg := false
	if i < n && data[i] == '-' {
		neg = true
		i++
	}
	start := i
	var id int64
	for i < n && data[i] >= '0' && data[i] <= '9' {
		id = id*10 + int64(data[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 15 || digits > 1 && data[start] == '0' {
		return false
	}
	if neg {
		id = -id
	}
	*m = inMessage{kind: kind, id: id}
	if i < n && data[i] == ',' {
		i++
		if i >= n || data[i] != '\'' {
			return false
		}
		i++
		start = i
		for i < n && data[i] != '\'' {
			if b := data[i]; b < 0x20 || b > 0x7e || b == '\\' {
				return false
			}
			i++
		}
		if i >= n {
			return false
		}
		m.iface = nm.intern(data[start:i])
		i++
	}
	if i >= n || data[i] != ']' {
		return false
	}
	i++
	if i == n-1 {
		return true // {kind:[...]}
	}
	if data[i] != ',' {
		return false
	}
	i++
	k = scanIdent(data, i)
	if k == i || k >= n || data[k] != ':' {
		return false
	}
	name := data[i:k]
	if string(name) == kind || string(name) == "__proto__" {
		return false
	}
	i = k + 1
	// The payload must be an array closing right before the final brace.
	if data[i] != '[' || data[n-2] != ']' {
		return false
	}
	// The payload is parsed alone, exactly: nothing may follow its array.
	// A line comment after it ("[]//]") would pass as trailing clutter of
	// the payload, but in the whole message it swallows the closing brace
	// too; such a message is left to the generic parser.
	if v, ok := verbs[string(name)]; ok {
		m.verb = v
	} else {
		m.verb = nm.intern(name)
	}
	raw := data[i : n-1]
	if len(raw) >= lendMin && ln != nil && kind == "call" && ln.lends(m.iface, m.verb) {
		payload, lease, err := parseLent(raw, ln)
		if err != nil {
			m.held = lease
			return false // the generic parser reports it
		}
		if lease != nil {
			m.payload, m.hasVerb, m.lease = payload, true, lease
			return true
		}
	}
	payload, err := mdsf.ParseExact(raw)
	if err != nil {
		return false
	}
	m.payload, m.hasVerb = payload, true
	return true
}
