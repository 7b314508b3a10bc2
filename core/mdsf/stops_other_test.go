//go:build !amd64 || purego

package mdsf

// vecImpl is one vector scanner, for TestVecStops.
type vecImpl struct {
	name  string
	stops func(s string, lim int8) int
}

// vecImpls lists the vector scanners: none here.
func vecImpls() []vecImpl { return nil }
