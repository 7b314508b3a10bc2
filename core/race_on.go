//go:build race

package jstp

// raceEnabled is true in builds with the race detector, where given-back
// lent buffers are overwritten (see argLease.release).
const raceEnabled = true
