//go:build !race

package mdsf

const raceEnabled = false
