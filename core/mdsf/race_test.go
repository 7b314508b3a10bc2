//go:build race

package mdsf

// raceEnabled: under the race detector sync.Pool drops items at random, so
// a parse now and then allocates its scratch stacks anew.
const raceEnabled = true
