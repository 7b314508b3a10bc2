package mdsf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// withBoxCache runs f with the large-input mode (string box cache, arrays
// and objects written in place at predicted sizes) used for every input,
// not only for large ones.
func withBoxCache(t *testing.T, f func(t *testing.T)) {
	saved := boxMinInput
	boxMinInput = 0
	defer func() { boxMinInput = saved }()
	f(t)
}

// The reference answers and fixtures hold with the cache on for all sizes.
func TestBoxCacheReference(t *testing.T) {
	withBoxCache(t, TestReferenceParse)
	withBoxCache(t, TestReferenceFixtures)
	withBoxCache(t, TestParseErrors)
}

// A large array of random values (many strings repeat, many share a cache
// slot) parses to the same values as its elements parsed one by one
// without the cache.
func TestBoxCacheLargeInput(t *testing.T) {
	saved := boxMinInput
	defer func() { boxMinInput = saved }()
	rng := rand.New(rand.NewPCG(7, 11))
	g := &valueGen{rng: rng}
	var texts []string
	for range 3000 {
		s, err := Stringify(g.value(0))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, s)
	}
	// Short strings that repeat, with and without escapes.
	for i := range 2000 {
		texts = append(texts, []string{`'a'`, `'b\'s'`, `"Kyiv"`, `'\u0041bc'`, `'x` + strconv.Itoa(i%300) + `'`}[i%5])
	}
	rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	big := "[" + strings.Join(texts, ",") + "]"
	if len(big) < boxMinInput {
		t.Fatal("input too small to use the cache")
	}
	v, err := ParseString(big)
	if err != nil {
		t.Fatal(err)
	}
	arr := v.([]any)
	if len(arr) != len(texts) {
		t.Fatalf("%d elements, want %d", len(arr), len(texts))
	}
	boxMinInput = 1 << 30
	for i, text := range texts {
		want, err := ParseString(text)
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(arr[i], want) {
			t.Fatalf("element %d (%s): got %#v, want %#v", i, text, arr[i], want)
		}
	}
}

// Decimal literals taken by the fast path read as strconv.ParseFloat reads
// them.
func TestDecimalFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	check := func(lit string) {
		t.Helper()
		v, err := ParseString(lit)
		if err != nil {
			t.Fatalf("ParseString(%q): %v", lit, err)
		}
		want, _ := strconv.ParseFloat(lit, 64)
		f, ok := v.(float64)
		if !ok || f != want || fmt.Sprint(f) != fmt.Sprint(want) {
			t.Fatalf("ParseString(%q) = %#v, want %v", lit, v, want)
		}
	}
	for _, lit := range []string{"0.1", "0.30000000000000004", "-0.0", "1.5", "123456789.123456",
		"12345678901234.5", "1234567890123.45", "0.000000000000001", "9007199254740.993", "-7.25", "+3.0"} {
		check(lit)
	}
	for range 200000 {
		intDigits := 1 + rng.IntN(16)
		fracDigits := 1 + rng.IntN(17)
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(byte('1' + rng.IntN(9)))
		for range intDigits - 1 {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		b.WriteByte('.')
		for range fracDigits {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		check(b.String())
	}
}

// parseBoth parses s in the small-input and in the large-input mode and
// fails unless both give the same value or the same error.
func parseBoth(t *testing.T, s string) {
	t.Helper()
	saved := boxMinInput
	defer func() { boxMinInput = saved }()
	boxMinInput = 1 << 30
	v1, err1 := ParseString(s)
	boxMinInput = 0
	v2, err2 := ParseString(s)
	var se1, se2 *SyntaxError
	switch {
	case (err1 == nil) != (err2 == nil):
		t.Fatalf("%q: small-input mode %v, large-input mode %v", s, err1, err2)
	case err1 != nil:
		if !errors.As(err1, &se1) || !errors.As(err2, &se2) || *se1 != *se2 {
			t.Fatalf("%q: small-input mode %v, large-input mode %v", s, err1, err2)
		}
	case !sameValue(v1, v2):
		t.Fatalf("%q: small-input mode %#v, large-input mode %#v", s, v1, v2)
	}
}

// The large-input mode reads every text as the small-input mode does:
// random values and texts, the fuzz corpus, and each of them repeated in
// an array (where sizes are predicted from the previous element, rightly
// or not).
func TestLargeInputModeSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 17))
	g := &valueGen{rng: rng}
	var inputs []string
	for range 3000 {
		s, err := Stringify(g.value(0))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, s, string(g.text([]byte(s))))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, arg, _ := strings.Cut(string(data), "\n")
		arg = strings.TrimSpace(arg)
		if !strings.HasPrefix(arg, "[]byte(") {
			continue
		}
		in, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(arg, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		inputs = append(inputs, in)
	}
	if len(files) < 100 {
		t.Fatalf("only %d fuzz corpus files", len(files))
	}
	// Repeated keys, index keys and left-out members, in objects of
	// predicted sizes.
	objs := []string{"{a:1,b:2}", "{a:1,a:2}", "{b:1,a:2,b:3}", "{'1':1,a:2,'0':3,a:4}", "{a:undefined,b:1}",
		"{__proto__:1,a:2}", "{a:1,b:2,c:3,a:4}", "{}", "{a:[1,2],b:{c:1,c:2}}", "{'2':1,'1':2}",
		"{" + strings.Repeat("k:1,", 20) + "z:2}", "{a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,l:12,m:13,n:14,o:15,p:16,q:17,a:18,p:19}"}
	for _, a := range objs {
		for _, b := range objs {
			inputs = append(inputs, "["+a+","+b+"]", "[["+b+","+a+"],["+a+","+b+"]]")
		}
	}
	for i, in := range inputs {
		parseBoth(t, in)
		parseBoth(t, "["+in+","+in+","+in+"]")
		parseBoth(t, "{a:"+in+",b:["+in+"],c:"+in+"}")
		if i > 0 {
			parseBoth(t, "["+inputs[i-1]+","+in+","+inputs[i-1]+","+in+"]")
		}
	}
}

// FuzzLargeInputMode checks that the large-input mode reads every text as
// the small-input mode does, alone and repeated in an array and an object.
func FuzzLargeInputMode(f *testing.F) {
	for _, s := range []string{
		"{call:[1,'iface'],method:['a',2]}", "[,1,,]", "{a:1,a:2}", "{'1':1,a:2,'0':3,a:4}",
		"'b\\'s'", "[[1,2],[3]]", "{a:{b:1},c:[{d:2,e:3}]}", "0.5", "-12.25",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseBoth(t, s)
		parseBoth(t, "["+s+","+s+"]")
		parseBoth(t, "[{a:"+s+",b:1},{a:"+s+",b:"+s+"}]")
	})
}
