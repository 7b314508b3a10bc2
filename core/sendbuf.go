package jstp

import "sync/atomic"

// Pooled send buffers.
//
// A large call (string arguments of sendPoolMin bytes or more) is encoded
// into a pooled buffer instead of a fresh one, and so is a callback with
// large results (its only holder is the send queue). The buffer is both what the
// transport writes and what the session keeps until the peer has it, so it
// has two kinds of holders, counted in refs: the session, until the
// message is known delivered (dropDeliveredLocked), and each send queue it
// was put on, until the write that took it has returned (flush). The last
// holder to let go gives it back to the pool. A buffer whose holders are
// dropped without letting go (a session or a queue thrown away) is simply
// left to the garbage collector.
//
// What this saves is the client-side twin of what BorrowArgs saves on the
// server: fresh memory for every large call, which the collector then has
// to reclaim, and which is slow to write into because it is cold.
const sendPoolMin = 32 << 10

// sendBufsOut counts the pooled send buffers not yet given back, and
// sendBufsTaken all those ever taken, for tests.
var sendBufsOut, sendBufsTaken atomic.Int64

// sendBuf is a pooled buffer that one outgoing message is encoded into.
type sendBuf pooledBuf

// getSendBuf returns a pooled buffer of at least n bytes with no holders,
// or nil when n is larger than the largest class.
func getSendBuf(n int) *sendBuf {
	sb := (*sendBuf)(getPooledBuf(n))
	if sb == nil {
		return nil
	}
	sendBufsOut.Add(1)
	sendBufsTaken.Add(1)
	return sb
}

// owns reports whether b was encoded into sb from its start and stayed
// there: an append that outgrew the buffer moved b to fresh memory.
func (sb *sendBuf) owns(b []byte) bool {
	return len(b) > 0 && cap(b) == len(sb.buf) && &b[0] == &sb.buf[0]
}

// hold adds a holder. hold of nil does nothing.
func (sb *sendBuf) hold() {
	if sb != nil {
		sb.refs.Add(1)
	}
}

// unhold lets go of the buffer; the last holder gives it back. unhold of
// nil does nothing.
func (sb *sendBuf) unhold() {
	if sb == nil {
		return
	}
	switch n := sb.refs.Add(-1); {
	case n == 0:
		sb.put()
	case n < 0:
		panic("jstp: send buffer let go more often than held")
	}
}

// put gives the buffer back to the pool.
func (sb *sendBuf) put() {
	sendBufsOut.Add(-1)
	(*pooledBuf)(sb).free()
}

// argsSize is a lower bound of the encoded size of args: the lengths of
// their top-level strings.
func argsSize(args []any) int {
	n := 0
	for _, a := range args {
		if s, ok := a.(string); ok {
			n += len(s)
		}
	}
	return n
}
