package mdsf

import (
	"math/bits"
	"strings"
)

// Word-at-a-time scanning of string bodies. Long strings (a 100 KB
// argument is the common case in bulk transfers) spend nearly all their
// parse and write time looking for the few bytes that end a plain run, so
// these helpers test eight bytes per step with the classic "has a zero
// byte" bit trick instead of one table lookup per byte.

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// load64 reads the first eight bytes of w as a little-endian word. The
// compiler turns the shifts into one load.
func load64(w string) uint64 {
	w = w[:8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// zeroBytes sets the high bit of the lowest byte of x that is zero, and
// possibly of higher bytes; it is zero when no byte of x is zero. The
// lowest set bit always marks a real zero byte: a borrow only travels up
// from one.
func zeroBytes(x uint64) uint64 { return (x - swarLo) &^ x & swarHi }

// parseStops marks, as zeroBytes does, the bytes of w that end a plain
// run while parsing a string: ', ", \ and every non-ASCII byte.
func parseStops(w uint64) uint64 {
	return w&swarHi | zeroBytes(w^('\''*swarLo)) | zeroBytes(w^('"'*swarLo)) | zeroBytes(w^('\\'*swarLo))
}

// stopWord marks, as zeroBytes does, the bytes of w that skipStops stops
// at: the parse stops, and for lim 0x20 also the control characters below
// 0x20, which AppendString escapes.
func stopWord(w uint64, lim int8) uint64 {
	m := parseStops(w)
	if lim != 0 {
		// (w - 0x20..) & ^w & 0x80.. flags bytes below 0x20 among the
		// ASCII ones; non-ASCII bytes are flagged by parseStops anyway.
		m |= (w - 0x20*swarLo) &^ w & swarHi
	}
	return m
}

// skipPlain returns the index of the first byte at or after i in s that
// ends a plain run of string text (a quote, a backslash or a non-ASCII
// byte), or len(s).
func skipPlain(s string, i int) int { return skipStops(s, i, 0) }

// skipVerbatim returns the index of the first byte at or after i in s that
// AppendString cannot copy as it is (a quote, a backslash, a control
// character or a non-ASCII byte), or len(s).
func skipVerbatim(s string, i int) int { return skipStops(s, i, 0x20) }

// skipStops returns the index of the first byte at or after i in s that is
// ', " or \ or that, taken as a signed byte, is less than lim, or len(s).
// lim is 0 (the non-ASCII bytes) or 0x20 (the control characters too).
func skipStops(s string, i int, lim int8) int {
	vec := len(s)-i >= vecMin
	for ; len(s)-i >= 16; i += 16 {
		a, b := stopWord(load64(s[i:]), lim), stopWord(load64(s[i+8:]), lim)
		if a|b != 0 {
			if a != 0 {
				return i + bits.TrailingZeros64(a)>>3
			}
			return i + 8 + bits.TrailingZeros64(b)>>3
		}
		if vec {
			// Sixteen plain bytes: the run is probably long, and the
			// vector code goes on faster (text with a stop every few
			// bytes never gets here). The loop's step adds the 16.
			vec = false
			i += vecStops(s[i+16:], lim)
		}
	}
	if len(s)-i >= 8 {
		if m := stopWord(load64(s[i:]), lim); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '"' || c == '\\' || int8(c) < lim {
			return i
		}
	}
	return i
}

// ctrlOrHigh marks, as zeroBytes does, the bytes of w below 0x20 or above
// 0x7f. (A byte above 0x7f has its high bit set; one below 0x20 sets it
// when 0x20 is taken away, or borrows, which only happens above a byte
// that is itself marked.)
func ctrlOrHigh(w uint64) uint64 { return ((w - 0x20*swarLo) | w) & swarHi }

// verbatimASCII reports whether AppendString writes s as it is because
// s holds no quote, backslash, control character or non-ASCII byte. With
// vector code (vecStops) that is one pass over s. Without it, the three
// special bytes are looked for with the vectorized IndexByte and the
// others a word at a time, which is faster on long strings than testing
// every class in one pass of word-at-a-time code.
func verbatimASCII(s string) bool {
	if len(s) >= vecMin {
		return skipVerbatim(s, 0) == len(s)
	}
	if strings.IndexByte(s, '\'') >= 0 || strings.IndexByte(s, '"') >= 0 || strings.IndexByte(s, '\\') >= 0 {
		return false
	}
	i := 0
	for ; len(s)-i >= 16; i += 16 {
		if ctrlOrHigh(load64(s[i:]))|ctrlOrHigh(load64(s[i+8:])) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}
