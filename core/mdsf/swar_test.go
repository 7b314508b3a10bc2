package mdsf

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// The byte tables the scanners stand for.

// strStop marks the bytes that end the plain run of a quoted string: the
// quotes, the backslash and every non-ASCII byte.
var strStop = func() (t [256]bool) {
	t['\''], t['"'], t['\\'] = true, true, true
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = true
	}
	return
}()

// escapeTable marks the ASCII bytes AppendString must escape.
var escapeTable = func() (t [utf8.RuneSelf]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'], t['\\'], t['\''] = true, true, true
	return
}()

func naiveSkipPlain(s string, i int) int {
	for i < len(s) && !strStop[s[i]] {
		i++
	}
	return i
}

func naiveSkipVerbatim(s string, i int) int {
	for i < len(s) && s[i] < 0x80 && !escapeTable[s[i]] {
		i++
	}
	return i
}

// TestSkipPlainEveryByte puts every byte value at every position of
// strings of up to 20 bytes (so in either the word loop or the tail), after
// every start offset, and compares the word-at-a-time scanners with the
// byte tables they replace.
func TestSkipPlainEveryByte(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for b := 0; b < 256; b++ {
				buf := []byte(strings.Repeat("a", n))
				buf[pos] = byte(b)
				s := string(buf)
				for start := 0; start <= n; start++ {
					if got, want := skipPlain(s, start), naiveSkipPlain(s, start); got != want {
						t.Fatalf("skipPlain(%q, %d) = %d, want %d", s, start, got, want)
					}
					if got, want := skipVerbatim(s, start), naiveSkipVerbatim(s, start); got != want {
						t.Fatalf("skipVerbatim(%q, %d) = %d, want %d", s, start, got, want)
					}
				}
			}
		}
	}
}

// TestSkipPlainLong does the same for strings long enough to take the
// vector path (vecStops) where there is one: every byte value at every
// position of strings of up to 80 bytes, after start offsets that put it in
// the first, a middle and the last 16-byte block or in the tail.
func TestSkipPlainLong(t *testing.T) {
	for n := 16; n <= 80; n++ {
		for pos := 0; pos < n; pos++ {
			for b := 0; b < 256; b++ {
				buf := []byte(strings.Repeat("a", n))
				buf[pos] = byte(b)
				s := string(buf)
				for _, start := range []int{0, 1, 15, 16, 17, pos, n - 33, n - 32, n - 31} {
					if start < 0 || start > n {
						continue
					}
					if got, want := skipPlain(s, start), naiveSkipPlain(s, start); got != want {
						t.Fatalf("skipPlain(%q, %d) = %d, want %d", s, start, got, want)
					}
					if got, want := skipVerbatim(s, start), naiveSkipVerbatim(s, start); got != want {
						t.Fatalf("skipVerbatim(%q, %d) = %d, want %d", s, start, got, want)
					}
				}
				if got, want := verbatimASCII(s), naiveSkipVerbatim(s, 0) == n; got != want {
					t.Fatalf("verbatimASCII(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}

// TestVecStops checks the vector scanners themselves, where there are
// some (each one this CPU can run): the index returned has no stop byte
// before it and is either the first stop or the end of the whole 16-byte
// blocks, for both limits, with one or two stops in strings of up to 70
// bytes (every byte value), and of up to 210 bytes (the bytes next to the
// limits and the special ones), which go through the 64-byte steps too.
func TestVecStops(t *testing.T) {
	impls := vecImpls()
	if len(impls) == 0 {
		t.Skip("no vector code for " + runtime.GOARCH + " (or built with purego)")
	}
	isStop := func(c byte, lim int8) bool {
		return c == '\'' || c == '"' || c == '\\' || int8(c) < lim
	}
	all := make([]byte, 256)
	for b := range all {
		all[b] = byte(b)
	}
	edges := []byte{0, 0x1f, 0x20, 0x21, '"', '\'', '\\', 0x7e, 0x7f, 0x80, 0xc3, 0xff}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			check := func(s string, lim int8) {
				t.Helper()
				want := len(s) &^ 15
				for i := 0; i < want; i++ {
					if isStop(s[i], lim) {
						want = i
						break
					}
				}
				if got := impl.stops(s, lim); got != want {
					t.Fatalf("%q, %#x: %d, want %d", s, lim, got, want)
				}
			}
			r := rand.New(rand.NewPCG(3, 4))
			for n := 0; n <= 210; n++ {
				bytes := all
				if n > 70 {
					bytes = edges
				}
				for pos := 0; pos < n; pos++ {
					for _, b := range bytes {
						buf := []byte(strings.Repeat("z", n))
						buf[pos] = b
						if r.IntN(2) == 0 {
							buf[r.IntN(n)] = byte(r.IntN(256))
						}
						for _, lim := range []int8{0, 0x20} {
							check(string(buf), lim)
						}
					}
				}
			}
		})
	}
}

// FuzzScanners compares the string scanners with the byte tables they
// stand for on any input and start offset.
func FuzzScanners(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 40)+"'"+strings.Repeat("b", 30)), uint8(3))
	f.Add([]byte(strings.Repeat("\x7f ", 20)+"\x1f"), uint8(0))
	f.Add([]byte(strings.Repeat("é", 40)), uint8(17))
	f.Fuzz(func(t *testing.T, data []byte, start uint8) {
		s := string(data)
		i := min(int(start), len(s))
		if got, want := skipPlain(s, i), naiveSkipPlain(s, i); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", s, i, got, want)
		}
		if got, want := skipVerbatim(s, i), naiveSkipVerbatim(s, i); got != want {
			t.Fatalf("skipVerbatim(%q, %d) = %d, want %d", s, i, got, want)
		}
		if got, want := verbatimASCII(s), naiveSkipVerbatim(s, 0) == len(s); got != want {
			t.Fatalf("verbatimASCII(%q) = %v, want %v", s, got, want)
		}
		if got, want := Verbatim(s), string(AppendString(nil, s)) == "'"+s+"'"; got != want {
			t.Fatalf("Verbatim(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestSkipPlainRandom checks words holding several stop bytes at once
// (where borrows in the bit trick could mislead a careless scanner).
func TestSkipPlainRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab'\"\\\x00\x01\x1f\x20\x7f\x80\xff\xc3\x26\x27\x28\x5b\x5c\x5d\x21\x22\x23")
	for range 200000 {
		buf := make([]byte, r.IntN(40))
		for i := range buf {
			if r.IntN(3) == 0 {
				buf[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				buf[i] = byte(r.IntN(256))
			}
		}
		s := string(buf)
		start := r.IntN(len(s) + 1)
		if got, want := skipPlain(s, start), naiveSkipPlain(s, start); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", s, start, got, want)
		}
		if got, want := skipVerbatim(s, start), naiveSkipVerbatim(s, start); got != want {
			t.Fatalf("skipVerbatim(%q, %d) = %d, want %d", s, start, got, want)
		}
	}
}

func TestVerbatimASCII(t *testing.T) {
	base := strings.Repeat("abcdefgh", 9) // 72 bytes
	for pos := 0; pos < len(base); pos++ {
		for b := 0; b < 256; b++ {
			buf := []byte(base)
			buf[pos] = byte(b)
			s := string(buf)
			want := naiveSkipVerbatim(s, 0) == len(s)
			if got := verbatimASCII(s); got != want {
				t.Fatalf("verbatimASCII with %#x at %d = %v, want %v", b, pos, got, want)
			}
		}
	}
}
