//go:build !purego

package mdsf

import "unsafe"

// vecImpl is one vector scanner, for TestVecStops.
type vecImpl struct {
	name  string
	stops func(s string, lim int8) int
}

// vecImpls lists the vector scanners this CPU can run.
func vecImpls() []vecImpl {
	impls := []vecImpl{{"sse2", func(s string, lim int8) int {
		return stopBlocks(unsafe.StringData(s), len(s), lim)
	}}}
	if hasAVX2 {
		impls = append(impls, vecImpl{"avx2", func(s string, lim int8) int {
			return stopBlocksAVX2(unsafe.StringData(s), len(s), lim)
		}})
	}
	return impls
}
