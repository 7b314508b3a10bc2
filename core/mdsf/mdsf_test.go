package mdsf

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{"", 0, "unexpected end of input, expected a value"},
		{"{ }", 2, "unexpected '}', expected a string or identifier key"},
		{"{a :1}", 2, "unexpected ' ', expected ':' right after the key"},
		{"[1 2]", 3, "unexpected '2', expected ',' or ']'"},
		{"012", 0, `legacy octal literal "01", use 0o`},
		{"nul", 0, `unknown literal "nul", expected true, false, null or undefined`},
		{"'abc", 0, "unterminated string"},
		{"1 /*", 2, "unterminated /* comment"},
		{"/*a*/ /*b*/ 1", 6, "unexpected '/', expected a value"},
		{"'\\x4g'", 4, "unexpected 'g', expected a hexadecimal digit"},
		{"'\\u{110000}'", 10, "invalid code point escape: want 1 to 8 hexadecimal digits up to 10FFFF"},
		{"1.2.3", 3, "unexpected '.', expected a number without a second '.'"},
		{"0x", 2, "unexpected end of input, expected a base-16 digit"},
		{"1 2", 2, "unexpected '2', expected end of input"},
		{"[\xff]", 1, "unexpected invalid UTF-8 byte 0xff, expected a value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseString(tt.in)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.offset, se.Offset)
			assert.Equal(t, tt.msg, se.Msg)
			assert.True(t, strings.HasPrefix(err.Error(), "mdsf: "))
		})
	}
}

func TestParseDepth(t *testing.T) {
	for _, open := range []string{"[", "{a:"} {
		close := map[string]string{"[": "]", "{a:": "}"}[open]
		ok := strings.Repeat(open, MaxDepth) + "1" + strings.Repeat(close, MaxDepth)
		_, err := ParseString(ok)
		require.NoError(t, err)
		deep := strings.Repeat(open, MaxDepth+1) + "1" + strings.Repeat(close, MaxDepth+1)
		_, err = ParseString(deep)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "nesting deeper than 5000 levels")
		// Unbalanced hostile input: deep and never closed.
		_, err = ParseString(strings.Repeat(open, 1<<20))
		require.Error(t, err)
	}
	var v any = []any{}
	for range MaxDepth + 1 {
		v = []any{v}
	}
	_, err := Stringify(v)
	assert.Error(t, err)
}

func TestParseKeepsOrderAndShares(t *testing.T) {
	v, err := ParseString(`{call:[1,'iface'],method:['a',2]}`)
	require.NoError(t, err)
	o := v.(Object)
	assert.Equal(t, "call", o[0].Key)
	assert.Equal(t, "method", o[1].Key)
	args, ok := o.Get("method")
	require.True(t, ok)
	assert.Equal(t, []any{"a", 2.0}, args)
	_, ok = o.Get("nope")
	assert.False(t, ok)
	// Parse copies its input: changing the buffer afterwards changes nothing.
	buf := []byte(`['abc']`)
	v, err = Parse(buf)
	require.NoError(t, err)
	copy(buf, "XXXXXXX")
	assert.Equal(t, []any{"abc"}, v)
}

type inner struct {
	Z int `mdsf:"z"`
}

type embedded struct {
	E string
}

type sample struct {
	embedded
	Name     string            `mdsf:"name"`
	JSONName int               `json:"jsonName,omitempty"`
	Skip     string            `mdsf:"-"`
	Empty    string            `mdsf:"empty,omitempty"`
	Ptr      *inner            `mdsf:"ptr"`
	Nil      *inner            `mdsf:"nil"`
	Any      any               `mdsf:"any"`
	List     []int             `mdsf:"list"`
	NilList  []string          `mdsf:"nilList"`
	Map      map[string]uint16 `mdsf:"map"`
	Bytes    []byte            `mdsf:"bytes"`
	Arr      [2]bool           `mdsf:"arr"`
	F32      float32           `mdsf:"f32"`
	Raw      Raw               `mdsf:"raw"`
	Undef    any               `mdsf:"undef"`
	private  int
}

func TestMarshalGoValues(t *testing.T) {
	s := sample{
		embedded: embedded{E: "e"},
		Name:     "n", Skip: "x", Ptr: &inner{Z: 3}, Any: Object{{"k", []any{Undefined, 1.0}}},
		List: []int{1, 2}, Map: map[string]uint16{"b": 2, "a": 1, "10": 3, "9": 4},
		Bytes: []byte("hi!"), Arr: [2]bool{true, false}, F32: 0.1, Raw: Raw(`{x:1}`),
		Undef: Undefined, private: 1,
	}
	got, err := Stringify(s)
	require.NoError(t, err)
	assert.Equal(t, `{E:'e',name:'n',ptr:{z:3},nil:null,any:{k:[,1]},list:[1,2],nilList:[],map:{'9':4,'10':3,a:1,b:2},bytes:'aGkh',arr:[true,false],f32:0.10000000149011612,raw:{x:1}}`, got)

	var back sample
	require.NoError(t, Unmarshal([]byte(got), &back))
	assert.Equal(t, "n", back.Name)
	assert.Equal(t, "e", back.E)
	assert.Equal(t, &inner{Z: 3}, back.Ptr)
	assert.Equal(t, []byte("hi!"), back.Bytes)
	assert.Equal(t, map[string]uint16{"b": 2, "a": 1, "10": 3, "9": 4}, back.Map)
	assert.Equal(t, Raw(`{x:1}`), back.Raw)
	assert.Equal(t, Object{{"k", []any{Undefined, 1.0}}}, back.Any)
}

var tenth = 0.1

func TestMarshalScalars(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"}, {Undefined, "undefined"}, {true, "true"}, {int8(-5), "-5"},
		{uint64(math.MaxUint64), "18446744073709552000"}, {int64(math.MaxInt64), "9223372036854776000"},
		{int64(1<<53 - 1), "9007199254740991"}, {math.Copysign(0, -1), "0"}, {math.NaN(), "NaN"},
		{math.Inf(-1), "-Infinity"}, {1e21, "1e+21"}, {1e-7, "1e-7"}, {tenth + 2*tenth, "0.30000000000000004"},
		{5e-324, "5e-324"}, {"it's", `'it\'s'`}, {"\x00\"\\\u2028", `'\u0000\"\\` + "\u2028'"},
		{"\xed\xa0\x80", `'\ud800'`}, {"\xff", "'\uFFFD'"}, {[]any(nil), "[]"}, {Object(nil), "{}"},
		{[]any{Undefined}, "[]"}, {[]any{Undefined, Undefined}, "[,]"}, {(*inner)(nil), "null"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `'2024-01-02T03:04:05Z'`},
		{map[int]string{2: "b", 10: "a"}, `{'2':'b','10':'a'}`},
		{Object{{"b", 1.0}, {"1", 2.0}, {"a", Undefined}, {"0", 3.0}}, `{'0':3,'1':2,b:1}`},
		{struct {
			A int `json:"-,"`
		}{1}, "{'-':1}"},
	}
	for _, tt := range tests {
		got, err := Stringify(tt.v)
		require.NoError(t, err, "%#v", tt.v)
		assert.Equal(t, tt.want, got, "%#v", tt.v)
	}
	for _, bad := range []any{make(chan int), func() {}, complex(1, 2), map[bool]int{true: 1}} {
		_, err := Marshal(bad)
		var ue *UnsupportedValueError
		assert.ErrorAs(t, err, &ue, "%T", bad)
	}
}

func TestAppendKey(t *testing.T) {
	for key, want := range map[string]string{"a": "a", "_$1": "_$1", "1a": "'1a'", "": "''", "a-b": "'a-b'", "é": "'é'", "a\n": `'a\n'`} {
		assert.Equal(t, want, string(AppendKey(nil, key)))
	}
}

type upper string

func (u *upper) UnmarshalMDSF(data []byte) error {
	v, err := Parse(data)
	if err != nil {
		return err
	}
	s, ok := v.(string)
	if !ok {
		return errors.New("want a string")
	}
	*u = upper(strings.ToUpper(s))
	return nil
}

func (u upper) MarshalMDSF() ([]byte, error) {
	return AppendString(nil, strings.ToLower(string(u))), nil
}

func TestDecode(t *testing.T) {
	var i int
	require.NoError(t, Decode(5.0, &i))
	assert.Equal(t, 5, i)
	assert.EqualError(t, Decode("x", &i), "mdsf: cannot decode string into int")
	assert.EqualError(t, Decode(1.5, &i), "mdsf: cannot decode number 1.5 into int")
	var u8 uint8
	assert.EqualError(t, Decode(256.0, &u8), "mdsf: cannot decode number 256 into uint8")
	assert.EqualError(t, Decode(-1.0, &u8), "mdsf: cannot decode number -1 into uint8")
	var s struct {
		A []struct {
			B int `mdsf:"b"`
		} `mdsf:"a"`
	}
	assert.EqualError(t, Decode(Object{{"a", []any{Object{{"b", 1.0}}, Object{{"b", true}}}}}, &s),
		"mdsf: cannot decode boolean into int at .a[1].b")
	var a any
	require.NoError(t, Decode([]any{1.0}, &a))
	assert.Equal(t, []any{1.0}, a)
	var p *int
	require.NoError(t, Decode(7.0, &p))
	assert.Equal(t, 7, *p)
	require.NoError(t, Decode(nil, &p))
	assert.Nil(t, p)
	var up upper
	require.NoError(t, Decode("abc", &up))
	assert.Equal(t, upper("ABC"), up)
	var ups []upper
	require.NoError(t, Unmarshal([]byte(`['x','y']`), &ups))
	assert.Equal(t, []upper{"X", "Y"}, ups)
	out, err := Stringify(ups)
	require.NoError(t, err)
	assert.Equal(t, "['x','y']", out)
	var m map[int]string
	require.NoError(t, Unmarshal([]byte(`{'1':'a','-2':'c'}`), &m))
	assert.Equal(t, map[int]string{1: "a", -2: "c"}, m)
	assert.ErrorContains(t, Unmarshal([]byte(`{b:1}`), &m), `mdsf: cannot decode object key "b" into map[int]string`)
	var arr [1]int
	assert.Error(t, Decode([]any{1.0, 2.0}, &arr))
	assert.Error(t, Decode(1.0, nil))
	assert.Error(t, Decode(1.0, i))
	var iface interface{ M() }
	assert.EqualError(t, Decode(1.0, &iface), "mdsf: cannot decode number into interface { M() }")
	// Go values are accepted as the source too.
	var st struct{ X []int }
	require.NoError(t, Decode(map[string]any{"X": []int{1, 2}}, &st))
	assert.Equal(t, []int{1, 2}, st.X)
	var r Raw
	require.NoError(t, Decode(Object{{"a", []any{1.0, "x"}}}, &r))
	assert.Equal(t, "{a:[1,'x']}", string(r))
}

func TestSplitter(t *testing.T) {
	var s Splitter
	var got []string
	emit := func(msg []byte) error { got = append(got, string(msg)); return nil }
	require.NoError(t, s.Feed([]byte("{a:1}\x00{b:"), emit))
	assert.Equal(t, 3, s.Buffered())
	require.NoError(t, s.Feed([]byte("2}\x00\x00{c:'\xe2\x82"), emit))
	require.NoError(t, s.Feed([]byte("\xac'}\x00"), emit))
	assert.Equal(t, []string{"{a:1}", "{b:2}", "", "{c:'€'}"}, got)
	assert.Equal(t, 0, s.Buffered())

	boom := errors.New("boom")
	got = nil
	err := s.Feed([]byte("x\x00y\x00z"), func(msg []byte) error { got = append(got, string(msg)); return boom })
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, []string{"x"}, got)
	assert.Equal(t, 3, s.Buffered(), "the rest is kept")

	small := Splitter{MaxSize: 4}
	require.NoError(t, small.Feed([]byte("0123456789\x00abcd"), emit), "complete messages are not limited")
	assert.ErrorIs(t, small.Feed([]byte("e"), emit), ErrMessageTooLarge)
	assert.Equal(t, 0, small.Buffered())
	assert.ErrorIs(t, small.Feed([]byte("\x00"), emit), ErrMessageTooLarge, "stays broken")

	var big Splitter
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for i := 0; i < 8; i++ {
		require.NoError(t, big.Feed(chunk, emit))
	}
	assert.Equal(t, MaxMessageSize, big.Buffered())
	assert.ErrorIs(t, big.Feed([]byte("a"), emit), ErrMessageTooLarge)
}

// chunkReader returns the chunks one Read at a time, then io.EOF.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestSplitterFeedFrom(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	tests := []struct {
		name   string
		chunks []string
		want   []string
		tail   int
	}{
		{"one read", []string{"{a:1}\x00{b:2}\x00"}, []string{"{a:1}", "{b:2}"}, 0},
		{"split anywhere", []string{"{a:", "1}\x00\x00{c:'\xe2\x82", "\xac'}\x00{d"}, []string{"{a:1}", "", "{c:'€'}"}, 2},
		{"large message in pieces", []string{big[:5000], big[5000:200000], big[200000:] + "\x00ok\x00"}, []string{big, "ok"}, 0},
		{"large then small", []string{"{a}\x00" + big[:100000], big[100000:] + "\x00{b}\x00{c"}, []string{"{a}", big, "{b}"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &chunkReader{}
			for _, c := range tt.chunks {
				r.chunks = append(r.chunks, []byte(c))
			}
			var s Splitter
			var got []string
			emit := func(msg []byte) error { got = append(got, string(msg)); return nil }
			for {
				_, readErr, err := s.FeedFrom(r, emit)
				require.NoError(t, err)
				if readErr != nil {
					require.ErrorIs(t, readErr, io.EOF)
					break
				}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.tail, s.Buffered())
			assert.LessOrEqual(t, cap(s.buf), readChunk, "the large buffer is given back")
		})
	}
}

func TestSplitterFeedFromLimit(t *testing.T) {
	s := Splitter{MaxSize: 100}
	var got []string
	emit := func(msg []byte) error { got = append(got, string(msg)); return nil }
	_, _, err := s.FeedFrom(strings.NewReader(strings.Repeat("a", 150)+"\x00"+strings.Repeat("b", 100)), emit)
	require.NoError(t, err, "a complete message in one read is not limited; the tail is at the limit")
	assert.Equal(t, []string{strings.Repeat("a", 150)}, got)
	_, _, err = s.FeedFrom(strings.NewReader("b"), emit)
	assert.ErrorIs(t, err, ErrMessageTooLarge)
	assert.Equal(t, 0, s.Buffered())
	n, _, err := s.FeedFrom(strings.NewReader("\x00"), emit)
	assert.ErrorIs(t, err, ErrMessageTooLarge, "stays broken")
	assert.Equal(t, 0, n, "and reads nothing")
}

func TestSplitterEmitErrorKeepsMessages(t *testing.T) {
	// After emit fails, the messages it did not take are emitted by the
	// next call, for both Feed and FeedFrom.
	for _, from := range []bool{false, true} {
		var s Splitter
		boom := errors.New("boom")
		var got []string
		fail := true
		emit := func(msg []byte) error {
			if fail {
				fail = false
				return boom
			}
			got = append(got, string(msg))
			return nil
		}
		var err error
		if from {
			_, _, err = s.FeedFrom(strings.NewReader("x\x00y\x00z"), emit)
		} else {
			err = s.Feed([]byte("x\x00y\x00z"), emit)
		}
		require.ErrorIs(t, err, boom)
		require.NoError(t, s.Feed([]byte("\x00"), emit))
		assert.Equal(t, []string{"y", "z"}, got, "FeedFrom=%v", from)
	}
}

func TestStringifyRoundTripsParse(t *testing.T) {
	// Every string Parse produces is written back as text that parses to it.
	for _, in := range []string{`'\ud800\udc00'`, `'\udc00\ud800'`, `'\u{d800}x'`, `'\0\777\x7f'`, "'\xf0\x9f'"} {
		v, err := ParseString(in)
		require.NoError(t, err)
		out, err := Stringify(v)
		require.NoError(t, err)
		back, err := ParseString(out)
		require.NoError(t, err)
		assert.Equal(t, v, back, "%s -> %s", in, out)
	}
}

func TestParseExact(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"[1]", true},
		{"[]", true},
		{"[ 1 , /*c*/ 2 ]", true},
		{"[1//c\n]", true},
		{"{a:'//'}", true},
		{" [1]", false},
		{"[1] ", false},
		{"[1]//c", false},
		{"[1]//]", false},
		{"[1]/*c*/", false},
		{"/*c*/[1]", false},
		{"", false},
		{"[1][2]", false},
	} {
		v, err := ParseExact([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("ParseExact(%q): %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		vs, errS := ParseStringExact(tc.in)
		if (errS == nil) != tc.ok || !reflect.DeepEqual(vs, v) {
			t.Errorf("ParseStringExact(%q) = %v, %v; ParseExact %v, %v", tc.in, vs, errS, v, err)
		}
		if tc.ok {
			if w, err := ParseString(tc.in); err != nil || !reflect.DeepEqual(w, v) {
				t.Errorf("ParseExact(%q) = %v, Parse %v, %v", tc.in, v, w, err)
			}
		}
	}
}
