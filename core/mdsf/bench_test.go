package mdsf

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// benchCorpus is the realistic corpus of the benchmarks: JSTP messages of
// the common kinds and a 1 KiB and a 1 MiB payload, and the 1 MiB payload
// again with no string value repeated (the tags and the city carry the
// record number), to show parsing without the help of the string cache.
var benchCorpus = func() []struct{ name, text string } {
	record := func(i int) string {
		return fmt.Sprintf("{id:%d,name:'user %d',email:'user%d@example.com',active:%v,score:%d.%d,tags:['a','b\\'s','c'],address:{city:'Kyiv',zip:'0%d'}}",
			i, i, i, i%2 == 0, i*7, i%10, 1000+i)
	}
	distinct := func(i int) string {
		return fmt.Sprintf("{id:%d,name:'user %d',email:'user%d@example.com',active:%v,score:%d.%d,tags:['a%d','b\\'s%d','c%d'],address:{city:'Kyiv %d',zip:'0%d'}}",
			i, i, i, i%2 == 0, i*7, i%10, i, i, i, i, 1000+i)
	}
	payloadOf := func(size int, record func(int) string) string {
		var b strings.Builder
		b.WriteString("{callback:[42],ok:[[")
		for i := 0; b.Len() < size-40; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(record(i))
		}
		b.WriteString("]]}")
		return b.String()
	}
	payload := func(size int) string { return payloadOf(size, record) }
	return []struct{ name, text string }{
		{"call", "{call:[1,'iface'],method:['a',2]}"},
		{"callback", "{callback:[17],ok:['result',{count:3,items:[1,2,3],done:true}]}"},
		{"event", "{event:[-5,'chat'],message:['Hello, world!',{from:'alice',at:1718000000000}]}"},
		{"handshake", "{handshake:[0,'app@1.2.0'],login:['user','secret']}"},
		{"payload1KiB", payload(1 << 10)},
		{"payload1MiB", payload(1 << 20)},
		{"payload1MiBDistinct", payloadOf(1<<20, distinct)},
	}
}()

// toJSON writes a generic value as the equivalent JSON text.
func toJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case Object:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, m.Key)
			b = append(b, ':')
			b = toJSON(b, m.Value)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = toJSON(b, e)
		}
		return append(b, ']')
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}

func BenchmarkParse(b *testing.B) {
	for _, c := range benchCorpus {
		data := []byte(c.text)
		v, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		jsonData := toJSON(nil, v)
		b.Run(c.name+"/mdsf", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(jsonData)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(jsonData, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, c := range benchCorpus {
		v, err := ParseString(c.text)
		if err != nil {
			b.Fatal(err)
		}
		var jv any
		if err := json.Unmarshal(toJSON(nil, v), &jv); err != nil {
			b.Fatal(err)
		}
		size, _ := Stringify(v)
		jsonSize, _ := json.Marshal(jv)
		b.Run(c.name+"/mdsf", func(b *testing.B) {
			b.SetBytes(int64(len(size)))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = Append(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(jsonSize)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(jv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestCallMessageAllocations(t *testing.T) {
	data := []byte("{call:[1,'iface'],method:['a',2]}")
	if _, err := Parse(data); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() { _, _ = Parse(data) })
	t.Logf("Parse(%s): %.0f allocations", data, allocs)
	limit := 8.0
	if raceEnabled {
		limit += 3 // sync.Pool misses on purpose under -race: scratch and its two stacks
		t.Logf("race detector on: allowing %.0f", limit)
	}
	if allocs > limit {
		t.Errorf("Parse of a typical call message makes %.0f allocations, want at most 8", allocs)
	}
}

// BenchmarkLongString reads and writes one 100 KB string, the argument of
// the bench/ point with 100 KB calls: plain ASCII (the bulk paths: the
// vectorized IndexByte and word-at-a-time checks) and text with a
// two-byte character every 10 bytes (the byte-wise path).
func BenchmarkLongString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", strings.Repeat("abcdefghij", 10000)},
		{"utf8", strings.Repeat("abcdefghé", 10000)},
	} {
		text := AppendString(nil, c.s)
		b.Run(c.name+"/parse", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/write", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			buf := make([]byte, 0, len(text))
			for b.Loop() {
				buf = AppendString(buf[:0], c.s)
			}
		})
	}
}
