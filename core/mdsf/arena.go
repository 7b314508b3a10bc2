package mdsf

// arena hands out the slices of one parse (array elements or object
// members) from shared chunks, so that a message of many small arrays or
// objects makes a few allocations instead of one each. Slices are cut
// with their capacity equal to their length: an append to one reallocates
// and cannot reach its neighbours.
type arena[T any] struct {
	free     []T // the unused rest of the current chunk
	chunk    int // the size of the next chunk, 0 until the first is taken
	seq      int // allocations that took arena space
	minChunk int // the size of the first chunk when chunk is not preset
	maxChunk int // chunks double up to this size
	maxAlloc int // larger slices get an allocation of their own
}

// alloc returns a slice of n elements.
func (a *arena[T]) alloc(n int) []T {
	if n == 0 {
		return []T{}
	}
	if n > len(a.free) {
		if n > a.maxAlloc {
			return make([]T, n)
		}
		a.newChunk(n)
	}
	out := a.free[:n:n]
	a.free = a.free[n:]
	a.seq++
	return out
}

// allocFrom is alloc for 0 < n <= maxAlloc that also returns the arena
// space starting at the result, for giveBack.
func (a *arena[T]) allocFrom(n int) (out, full []T) {
	if n > len(a.free) {
		a.newChunk(n)
	}
	full = a.free
	a.free = full[n:]
	a.seq++
	return full[:n:n], full
}

// giveBack returns full[used:] to the arena, full being the space
// allocFrom returned when seq was current, if nothing took arena space
// since.
func (a *arena[T]) giveBack(full []T, used, seq int) {
	if a.seq == seq {
		a.free = full[used:]
	}
}

// newChunk starts a new chunk with room for n.
func (a *arena[T]) newChunk(n int) {
	if a.free != nil || a.chunk == 0 {
		a.chunk = min(max(2*a.chunk, a.minChunk), a.maxChunk)
	}
	a.free = make([]T, max(a.chunk, n))
}
