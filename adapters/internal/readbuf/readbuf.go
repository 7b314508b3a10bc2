// Package readbuf holds the inbound message buffers of the WebSocket
// adapters so that a stream of large messages reuses buffers instead of
// growing a new one, by doubling, for every message, while an idle
// connection still pins no large buffer.
//
// Large buffers live in a pool shared by every connection of the process,
// in size classes of powers of two (Get, Pooled, Put). Buffer is the read
// buffer of one connection whose library hands it each message as an
// io.Reader (gorilla, coder/websocket): it keeps a small buffer of at most
// Keep bytes between messages and borrows a pooled one for a message that
// does not fit, giving it back as soon as the message has been delivered.
//
// The package is internal to the adapters and not a public API.
package readbuf

import (
	"io"
	"math/bits"
	"sync"
)

const (
	// Keep is the largest buffer a Buffer keeps between messages: a
	// connection that is idle after a larger message holds at most this.
	Keep = 64 << 10

	// minShift and maxShift bound the pooled size classes: 512 B to 8 MiB
	// (the adapters' MaxMessageSize). A buffer outside them is never pooled.
	minShift = 9
	maxShift = 23

	// minGrow is the first capacity of a Buffer's small buffer.
	minGrow = 1 << minShift
)

var (
	// pools[i] holds *[]byte of capacity at least 1<<(minShift+i): exactly
	// that for the buffers Get makes, possibly more for buffers made
	// elsewhere (Put files a buffer under the largest class it covers).
	pools [maxShift - minShift + 1]sync.Pool

	// boxes holds empty *[]byte, so that Put allocates nothing in the
	// steady state.
	boxes sync.Pool
)

// class is the index of the smallest size class holding n bytes; n must be
// at most 1<<maxShift.
func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Pooled returns an empty buffer of capacity at least n taken from the
// pool, or nil if the pool has none free of n's size class (or n is over
// the largest class). It never allocates a buffer, so a caller may use it
// with a size the peer only announced.
func Pooled(n int) []byte {
	if n > 1<<maxShift {
		return nil
	}
	v := pools[class(n)].Get()
	if v == nil {
		return nil
	}
	bp := v.(*[]byte)
	b := (*bp)[:0]
	*bp = nil
	boxes.Put(bp)
	return b
}

// Get returns an empty buffer of capacity at least n: a pooled one if one
// of n's size class is free, else a new one of the size of that class
// (exactly n when n is over the largest class).
func Get(n int) []byte {
	if b := Pooled(n); b != nil {
		return b
	}
	if n > 1<<maxShift {
		return make([]byte, 0, n)
	}
	return make([]byte, 0, 1<<(minShift+class(n)))
}

// Put gives b to the pool; the caller must not use it, or anything sliced
// from it, afterwards. A buffer under the smallest or over the largest
// size class is dropped instead.
func Put(b []byte) {
	c := cap(b)
	if c < 1<<minShift || c > 1<<maxShift {
		return
	}
	bp, _ := boxes.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = b[:0]
	pools[bits.Len(uint(c))-1-minShift].Put(bp)
}

// Buffer is the read buffer of one connection. The zero value is ready to
// use; a Buffer must not be used by two goroutines at once.
//
// Between messages it holds only its small buffer, of at most Keep bytes,
// grown by doubling for the messages that needed it. A message that does
// not fit there goes to a buffer borrowed from the pool, growing from one
// size class to the next while it is read, and the borrowed buffer goes
// back to the pool at Release. After a large message, ReadAll borrows a
// buffer of that message's size class before it reads the next one, so
// that a steady stream of large messages reads each straight into a pooled
// buffer, with neither growth nor allocation.
type Buffer struct {
	small []byte  // kept between messages; capacity at most Keep
	big   []byte  // borrowed from the pool for the current message; nil if none
	last  int     // length of the last message if it was over Keep, else 0
	one   [1]byte // probes a full buffer for the end of the message
}

// ReadAll reads r to its end and returns what it read. The bytes are valid
// until Release or the next ReadAll. On an error it returns nil and the
// error, and has released the buffer.
func (b *Buffer) ReadAll(r io.Reader) ([]byte, error) {
	b.Release()
	buf := b.small[:0]
	if b.last > 0 {
		buf = Get(b.last)
		b.big = buf
	}
	for {
		var (
			n   int
			err error
		)
		if len(buf) < cap(buf) {
			n, err = r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
		} else {
			// Full: a message that fills the buffer exactly must not
			// grow it, so read one byte aside before growing.
			n, err = r.Read(b.one[:])
			if n > 0 {
				buf = append(b.grow(buf), b.one[0])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Release()
			return nil, err
		}
	}
	if len(buf) > Keep {
		b.last = len(buf)
	} else {
		b.last = 0
	}
	return buf, nil
}

// grow returns a buffer of larger capacity holding buf's bytes: the next
// small buffer up to Keep, past it the next pooled size class (returning
// the previous borrowed buffer to the pool).
func (b *Buffer) grow(buf []byte) []byte {
	if b.big == nil && cap(buf) < Keep {
		nb := make([]byte, len(buf), min(max(2*cap(buf), minGrow), Keep))
		copy(nb, buf)
		b.small = nb[:0]
		return nb
	}
	nb := append(Get(2*cap(buf)), buf...)
	if b.big != nil {
		Put(b.big)
	}
	b.big = nb
	return nb
}

// Release ends the use of the message ReadAll returned: a buffer borrowed
// for it goes back to the pool. It is a no-op when nothing is borrowed.
func (b *Buffer) Release() {
	if b.big != nil {
		Put(b.big)
		b.big = nil
	}
}
