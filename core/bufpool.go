package jstp

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// The engine's pools of large-message buffers, in power-of-two size
// classes from 4 KiB to 64 MiB, shared by the arguments lent to BorrowArgs
// methods (argLease, borrow.go) and the messages sent from pooled buffers
// (sendBuf, sendbuf.go): a buffer that carried a call in can carry an
// answer out.
const (
	poolMinShift = 12 // the smallest class: 4 KiB
	poolMaxShift = 26 // the largest class: 64 MiB
)

// bufPools holds the free buffers of each size class: class k holds
// buffers of 1<<(poolMinShift+k) bytes.
var bufPools [poolMaxShift - poolMinShift + 1]sync.Pool

// pooledBuf is a buffer of one size class. argLease and sendBuf are
// pooledBuf under other names, each with the methods of its use.
type pooledBuf struct {
	buf   []byte
	class int
	refs  atomic.Int32 // the holders of a sendBuf; 0 while pooled
	used  int          // the payload's length in an argLease
	give  func()       // for an argLease of a transport's buffer: gives it back
}

// bufClass returns the size class of n bytes, and false when n is larger
// than the largest class.
func bufClass(n int) (int, bool) {
	shift := bits.Len(uint(max(n, 1) - 1))
	if shift > poolMaxShift {
		return 0, false
	}
	return max(shift, poolMinShift) - poolMinShift, true
}

// getPooledBuf returns a buffer of at least n bytes, or nil when n is
// larger than the largest class.
func getPooledBuf(n int) *pooledBuf {
	class, ok := bufClass(n)
	if !ok {
		return nil
	}
	if b, _ := bufPools[class].Get().(*pooledBuf); b != nil {
		return b
	}
	return &pooledBuf{buf: make([]byte, 1<<(poolMinShift+class)), class: class}
}

// free gives the buffer back to its pool.
func (b *pooledBuf) free() { bufPools[b.class].Put(b) }
