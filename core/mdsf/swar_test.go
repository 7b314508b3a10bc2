package mdsf

import (
	"math/rand/v2"
	"strings"
	"testing"
)

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
