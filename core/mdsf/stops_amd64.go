//go:build !purego

package mdsf

import "unsafe"

// vecMin is the length from which the string scanners test 16 bytes per
// step with stopBlocks before finishing a word at a time.
const vecMin = 32

// vecStops returns an index j such that s[:j] holds no byte that is ', "
// or \ or that, taken as a signed byte, is less than lim: lim 0 stops at
// non-ASCII bytes, lim 0x20 also at control characters. j is either the
// first such byte or the end of the last whole 16-byte block of s.
func vecStops(s string, lim int8) int {
	return stopBlocks(unsafe.StringData(s), len(s), lim)
}

//go:noescape
func stopBlocks(p *byte, n int, lim int8) int
