package jstp

import (
	"sync/atomic"
	"unsafe"

	"github.com/jstp-go/jstp/core/mdsf"
)

// Lent arguments (see BorrowArgs).
//
// A call to a method registered with BorrowArgs whose payload is at least
// lendMin bytes is parsed out of a pooled buffer instead of a fresh string:
// the payload is copied into the buffer (warm memory, a few microseconds
// for 100 KB) and the argument strings share it. The call's task owns the
// buffer until the answer is encoded, then gives it back. What this saves
// is the fresh allocation of the payload for every call: on a server with a
// small live heap a 100 KB string per call makes the collector run every
// few dozen calls, and writing into memory that the collector has just
// freed costs several times a copy into memory in use.

// lendMin is the least payload whose arguments are lent: the smallest
// pool class.
const lendMin = 1 << poolMinShift

// leasesOut counts the leases not yet released, for tests.
var leasesOut atomic.Int64

// argLease is a pooled buffer that the strings of one call's arguments
// share. Its first used bytes hold the payload.
type argLease pooledBuf

// parseLent parses payload out of a pooled buffer, exactly (see
// mdsf.ParseExact), or where it lies when the transport lets the engine
// take it (ln.take, MessageTaker). It returns the value and the lease that
// its strings depend on; a nil lease and a nil error when payload is too
// small or too large to be lent; and the parse error when payload is not
// valid, with nothing to release, or, when the transport's buffer was
// taken, with the lease of that buffer, which payload still lies in.
func parseLent(payload []byte, ln lender) (any, *argLease, error) {
	if len(payload) < lendMin {
		return nil, nil, nil
	}
	if give, ok := ln.take(); ok {
		// The transport's own buffer: no copy.
		l := &argLease{buf: payload, used: len(payload), give: give}
		leasesOut.Add(1)
		v, err := mdsf.ParseStringExact(unsafe.String(unsafe.SliceData(payload), len(payload)))
		if err != nil {
			return nil, l, err
		}
		return v, l, nil
	}
	pb := getPooledBuf(len(payload))
	if pb == nil {
		return nil, nil, nil
	}
	l := (*argLease)(pb)
	leasesOut.Add(1)
	l.used = copy(l.buf, payload)
	b := l.buf[:l.used]
	v, err := mdsf.ParseStringExact(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil {
		l.release()
		return nil, nil, err
	}
	return v, l, nil
}

// unlent parses the lease's payload again into memory of its own, for a
// call whose method turned out not to borrow after all (the applications
// were updated between the parse and the dispatch).
func (l *argLease) unlent() (any, error) {
	return mdsf.ParseExact(l.buf[:l.used])
}

// release gives the buffer back. Nothing may use the strings that share it
// afterwards. release of a nil lease does nothing.
//
// Under the race detector the buffer is overwritten first, so that a method
// that keeps a borrowed string against its promise sees the damage at once
// in its tests, not now and then in production.
func (l *argLease) release() {
	if l == nil {
		return
	}
	if raceEnabled {
		for i := range l.buf[:l.used] {
			l.buf[i] = lentPoison
		}
	}
	leasesOut.Add(-1)
	if l.give != nil {
		l.give() // a buffer taken from the transport goes back there
		return
	}
	(*pooledBuf)(l).free()
}

// lentPoison is what a given-back lent buffer is filled with under the race
// detector: not valid UTF-8, so that it shows.
const lentPoison = 0xff

// lender decides whether a call's arguments may be lent: *Connection, or
// nil (never).
type lender interface {
	lends(iface, name string) bool
	// take takes the message being delivered from the transport (see
	// MessageTaker), or reports false.
	take() (release func(), ok bool)
}
