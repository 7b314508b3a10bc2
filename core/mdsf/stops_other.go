//go:build !amd64 || purego

package mdsf

import "math"

// vecMin is the length from which the string scanners use vecStops: never,
// where there is no vector code.
const vecMin = math.MaxInt

// vecStops is not called where vecMin is math.MaxInt.
func vecStops(s string, lim int8) int { return 0 }
