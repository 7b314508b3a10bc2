package mdsf

import "unicode/utf8"

// invalidLen returns how many bytes at the start of s form one maximal
// subpart of an ill-formed UTF-8 sequence, the unit that the WHATWG UTF-8
// decoder (used by Node.js for Buffer#toString, sockets and WebSocket text)
// replaces with one U+FFFD. s must start with a byte that does not begin a
// valid sequence.
func invalidLen(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(s); n++ {
		b := s[n]
		if b < lo || b > hi {
			return n
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}

// surrogateAt reports whether s starts with the generalized UTF-8 (WTF-8)
// encoding of a UTF-16 surrogate code unit, and returns it. Strings produced
// by Parse hold unpaired surrogates (from escapes such as '\ud800') this
// way, so that they are written back as the same escape.
func surrogateAt(s string) (rune, bool) {
	if len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2] >= 0x80 && s[2] <= 0xBF {
		return 0xD000 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), true
	}
	return 0, false
}

// appendSurrogate appends the WTF-8 encoding of the surrogate code unit u.
func appendSurrogate(dst []byte, u rune) []byte {
	return append(dst, 0xED, byte(0x80|(u>>6)&0x3F), byte(0x80|u&0x3F))
}

// appendUnit appends one UTF-16 code unit (or a code point) to dst, joining
// a low surrogate with a high surrogate that dst ends with, as concatenating
// JavaScript strings does.
func appendUnit(dst []byte, u rune) []byte {
	if u >= 0xDC00 && u <= 0xDFFF && len(dst) >= 3 {
		t := dst[len(dst)-3:]
		if t[0] == 0xED && t[1] >= 0xA0 && t[1] <= 0xAF && t[2] >= 0x80 && t[2] <= 0xBF {
			hi := 0xD000 | rune(t[1]&0x3F)<<6 | rune(t[2]&0x3F)
			dst = dst[:len(dst)-3]
			return utf8.AppendRune(dst, 0x10000+(hi-0xD800)<<10+(u-0xDC00))
		}
	}
	if u >= 0xD800 && u <= 0xDFFF {
		return appendSurrogate(dst, u)
	}
	return utf8.AppendRune(dst, u)
}
