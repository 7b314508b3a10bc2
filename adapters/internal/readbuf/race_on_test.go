//go:build race

package readbuf

// raceEnabled: the race detector's sync.Pool drops a quarter of the Puts at
// random, so pool reuse is not deterministic.
const raceEnabled = true
