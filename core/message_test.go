package jstp

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jstp-go/jstp/core/mdsf"
)

// genericMessage takes data apart with the generic parser only.
func genericMessage(t testing.TB, data []byte) (inMessage, bool) {
	v, err := mdsf.Parse(data)
	if err != nil {
		return inMessage{}, false
	}
	obj, ok := v.(mdsf.Object)
	if !ok || len(obj) == 0 {
		return inMessage{}, false
	}
	m := inMessage{kind: obj[0].Key}
	if len(obj) > 1 {
		m.verb, m.payload, m.hasVerb = obj[1].Key, obj[1].Value, true
	}
	head, _ := obj[0].Value.([]any)
	if len(head) > 0 {
		m.id, _ = integerID(head[0])
	}
	if len(head) > 1 {
		m.iface, _ = head[1].(string)
	}
	return m, true
}

var messageCorpus = []string{
	"{call:[1,'iface'],method:['a',2]}",
	"{call:[17,'auth'],signIn:['user','pass']}",
	"{callback:[1],ok:[]}",
	"{callback:[-3],error:[42,'msg',{a:1}]}",
	"{event:[-1,'chat'],message:['hi',{from:'x'}]}",
	"{inspect:[3,'iface']}",
	"{ping:[4]}",
	"{pong:[-4]}",
	"{call:[0,'i'],m:[]}",
	"{call:[-0,'i'],m:[]}",
	"{call:[1,'i']}",
	"{call:[1,'i'],m:[1],x:[2]}",
	"{call:[1,'i'],call:[2]}",
	"{call:[1,'i'],__proto__:[2]}",
	"{call:[01,'i'],m:[]}",
	"{call:[1.5,'i'],m:[]}",
	"{call:[1e3,'i'],m:[]}",
	"{call:[9007199254740993,'i'],m:[]}",
	"{call:[1,'i\\'x'],m:[]}",
	"{call:[1,\"i\"],m:[]}",
	"{call:[1,'ünï'],m:[]}",
	"{call:[1,'i'],m:[1] }",
	"{call:[1,'i'],m:[1]/*x*/}",
	"{call:[0],A:[]//]}",
	"{call:[1,'i'],m:[1]//x]}",
	"{call:[1,'i'],m:[1//x\n]}",
	"{call:[1,'i'],m:['http://x']}",
	"{call:[1,'i'], m:[1]}",
	"{call :[1,'i'],m:[1]}",
	"{call:[1,'i'],m:'notarray'}",
	"{call:[1,'i'],m:[1]]}",
	"{call:[1,'i'],m:[,1,]}",
	"{call:[1,'i',],m:[]}",
	"{callback:[1],ok:[1],}",
	"{unknown:[1,'i'],m:[]}",
	"{handshake:[0,'app'],login:['u','p']}",
	"{}",
	"[1,2]",
	"{call:[",
}

// largeCorpus holds messages long enough for a call's arguments to be lent
// (see BorrowArgs).
var largeCorpus = func() []string {
	long := strings.Repeat("abcdefgh", lendMin/8)
	return []string{
		"{call:[1,'i'],m:['" + long + "']}",
		"{call:[1,'i'],m:['" + long + "\\n\\u0041é',{a:1,b:['x']}]}",
		"{call:[1,'i'],m:['" + long + "',}]}",
		"{call:[1,'i'],m:['" + long + "'//]}",
		"{callback:[1],ok:['" + long + "']}",
		"{event:[1,'i'],e:['" + long + "']}",
	}
}()

// TestFastParseAgreesWithGeneric: whatever the fast path accepts, the
// generic parser reads the same way.
func TestFastParseAgreesWithGeneric(t *testing.T) {
	fast, lent := 0, 0
	for _, text := range append(messageCorpus, largeCorpus...) {
		if checkFastParse(t, []byte(text)) {
			lent++
		}
		var m inMessage
		if fastParse([]byte(text), &m, nil, nil) {
			fast++
		}
	}
	if fast < 13 || lent != 2 {
		t.Errorf("fast path took only %d canonical messages, %d of them lent (want 2)", fast, lent)
	}
}

// checkFastParse checks the fast path against the generic parser on data,
// and reports whether data was parsed out of a lent buffer.
func checkFastParse(t testing.TB, data []byte) (lent bool) {
	var m, ml inMessage
	ok := fastParse(data, &m, nil, nil)
	// Parsing out of a lent buffer changes nothing but where the strings
	// live.
	okl := fastParse(data, &ml, nil, alwaysLend{})
	defer ml.lease.release()
	if okl != ok {
		t.Fatalf("%q: fast path %v, with a lender %v", data, ok, okl)
	}
	if ml.lease != nil && (m.kind != "call" || len(data) < lendMin) {
		t.Fatalf("%.100q: lent a payload it should not", data)
	}
	if !ok {
		return false
	}
	if !reflect.DeepEqual(ml.payload, m.payload) {
		t.Fatalf("%q: lent payload %v, plain %v", data, ml.payload, m.payload)
	}
	// Interned names read the same.
	var nm names
	for range 2 {
		var mi inMessage
		if !fastParse(data, &mi, &nm, nil) || mi.iface != m.iface || mi.verb != m.verb {
			t.Fatalf("%q: with interned names %+v, without %+v", data, mi, m)
		}
	}
	g, ok := genericMessage(t, data)
	if !ok {
		t.Fatalf("fast path accepted %q, the generic parser rejects it", data)
	}
	if m.kind != g.kind || m.id != g.id || m.iface != g.iface || m.verb != g.verb || m.hasVerb != g.hasVerb || !reflect.DeepEqual(m.payload, g.payload) {
		t.Fatalf("%q: fast %+v, generic %+v", data, m, g)
	}
	return ml.lease != nil
}

func FuzzFastParse(f *testing.F) {
	for _, text := range append(messageCorpus, largeCorpus...) {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = checkFastParse(t, data)
	})
}

func TestNamesAreBounded(t *testing.T) {
	var nm names
	for i := range 3 * maxNames {
		b := []byte(fmt.Sprintf("name%d", i))
		if got := nm.intern(b); got != string(b) {
			t.Fatalf("intern(%q) = %q", b, got)
		}
	}
	if len(nm.m) != maxNames {
		t.Fatalf("%d names kept, want %d", len(nm.m), maxNames)
	}
	if n := testing.AllocsPerRun(100, func() { nm.intern([]byte("name1")) }); n != 0 {
		t.Fatalf("interning a known name allocates %v times", n)
	}
	var none *names
	if got := none.intern([]byte("x")); got != "x" {
		t.Fatalf("nil names: %q", got)
	}
}
