package jstp

import (
	"fmt"
	"reflect"
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

// TestFastParseAgreesWithGeneric: whatever the fast path accepts, the
// generic parser reads the same way.
func TestFastParseAgreesWithGeneric(t *testing.T) {
	fast := 0
	for _, text := range messageCorpus {
		checkFastParse(t, []byte(text))
		var m inMessage
		if fastParse([]byte(text), &m, nil, nil) {
			fast++
		}
	}
	if fast < 9 {
		t.Errorf("fast path took only %d canonical messages", fast)
	}
}

func checkFastParse(t testing.TB, data []byte) {
	var m inMessage
	if !fastParse(data, &m, nil, nil) {
		return
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
}

func FuzzFastParse(f *testing.F) {
	for _, text := range messageCorpus {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastParse(t, data)
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
