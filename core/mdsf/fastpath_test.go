package mdsf

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// withBoxCache runs f with the string box cache used for every input, not
// only for large ones.
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
