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
	if hasAVX2 {
		return stopBlocksAVX2(unsafe.StringData(s), len(s), lim)
	}
	return stopBlocks(unsafe.StringData(s), len(s), lim)
}

// hasAVX2 reports whether the CPU has AVX2 and the OS saves the AVX
// registers.
var hasAVX2 = cpuAVX2()

// cpuAVX2 asks the CPU (CPUID) and the OS (XGETBV); see stops_amd64.s.
func cpuAVX2() bool

// stopBlocks is vecStops with SSE2, part of every amd64 CPU.
//
//go:noescape
func stopBlocks(p *byte, n int, lim int8) int

// stopBlocksAVX2 is stopBlocks with AVX2: 32 bytes per comparison.
//
//go:noescape
func stopBlocksAVX2(p *byte, n int, lim int8) int
