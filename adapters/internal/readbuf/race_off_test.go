//go:build !race

package readbuf

const raceEnabled = false
