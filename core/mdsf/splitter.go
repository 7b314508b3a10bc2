package mdsf

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// MaxMessageSize is the largest unterminated message a Splitter buffers:
// 8 MiB, the limit of the reference (@metarhia/jstp's MAX_MESSAGE_SIZE).
// The reference counts UTF-16 code units of the decoded text; this counts
// bytes, which are never fewer, so it is never more lenient.
const MaxMessageSize = 8 << 20

// ErrMessageTooLarge is returned by Splitter.Feed when the buffered
// unterminated tail of the stream grows past the size limit.
var ErrMessageTooLarge = errors.New("mdsf: message larger than the size limit")

// Splitter cuts a byte stream into NUL-terminated messages, the framing
// JSTP uses on TCP, TLS and Unix sockets. Chunks may be cut anywhere,
// including inside a message or a UTF-8 sequence. The zero value is ready to
// use. A Splitter is not safe for concurrent use.
type Splitter struct {
	// MaxSize limits the unterminated tail kept between chunks; 0 means
	// MaxMessageSize. Like the reference, only the tail left after a chunk
	// is checked, so complete messages in one chunk are not limited.
	MaxSize int

	buf     []byte // the unterminated tail, at the front of its buffer
	scanned int    // how many bytes at the front of buf hold no NUL
	small   []byte // the buffer buf returns to between large messages
	broken  bool

	// While cut emits a message from buf, emitted is set, and the message
	// is buf[emitStart:emitEnd].
	emitStart, emitEnd int
	emitted            bool // emitStart and emitEnd are set

	big    *bigBuf // the pooled buffer buf lies in, if any
	shared bool    // messages taken out of big may be in use
}

const (
	// readChunk is the size of the buffer a Splitter keeps between
	// messages, and how much room FeedFrom makes when it grows one.
	readChunk = 16 << 10
	// keepBuffer is the largest buffer a Splitter holds on to once no
	// large message is under way; larger ones go back to bigBuffers.
	keepBuffer = 64 << 10
	// minRead is the least free space FeedFrom reads into before it
	// grows the buffer.
	minRead = 2 << 10
	// bigStart is the smallest buffer a Splitter grows to past readChunk
	// (it comes from bigBuffers, and goes back there after the message).
	bigStart = 256 << 10
)

// bigBuffers holds the buffers of large messages between uses, shared by
// all Splitters: a stream of large messages reuses them instead of growing
// a buffer for each, and an idle connection holds none.
var bigBuffers sync.Pool // of *bigBuf

func (s *Splitter) limit() int {
	if s.MaxSize > 0 {
		return s.MaxSize
	}
	return MaxMessageSize
}

// Feed adds chunk to the stream and calls emit for each complete message
// in order, without its NUL terminator. msg is only valid during the call
// (it may point into chunk or into the Splitter's buffer). The bytes after
// the last NUL are kept for the next Feed.
//
// Feed stops at the first error emit returns and returns it, keeping the
// rest of the chunk for the next Feed. It returns
// ErrMessageTooLarge when the kept tail would exceed the size limit; the
// tail is then dropped and every later Feed returns ErrMessageTooLarge, as
// the stream has lost its framing. It never keeps more than the limit.
func (s *Splitter) Feed(chunk []byte, emit func(msg []byte) error) error {
	if s.broken {
		return ErrMessageTooLarge
	}
	if len(s.buf) == 0 {
		// Nothing pending: emit what chunk completes straight from it.
		for {
			i := bytes.IndexByte(chunk, 0)
			if i < 0 {
				break
			}
			err := emit(chunk[:i])
			chunk = chunk[i+1:]
			if err != nil {
				s.keep(chunk, 0)
				return err
			}
		}
		if len(chunk) > s.limit() {
			s.fail()
			return ErrMessageTooLarge
		}
		s.keep(chunk, len(chunk))
		return nil
	}
	if len(s.buf)+len(chunk) > s.limit() && bytes.IndexByte(chunk, 0) < 0 {
		s.fail()
		return ErrMessageTooLarge
	}
	s.keep(chunk, s.scanned)
	return s.cut(emit)
}

// keep appends b to the pending tail; the first scanned bytes of the
// result are known to hold no NUL.
func (s *Splitter) keep(b []byte, scanned int) {
	if len(s.buf)+len(b) > cap(s.buf) {
		s.grow(len(b))
	}
	s.buf = append(s.buf, b...)
	s.scanned = scanned
}

// FeedFrom reads once from r straight into the Splitter's buffer and then
// does what Feed does with the bytes read, without copying them first. n
// and readErr are what r.Read returned; err is what Feed would return
// (emit's error or ErrMessageTooLarge), and when it is not nil nothing is
// read. The buffer holds at most the size limit plus 16 KiB; once no large
// message is under way it shrinks back to 16 KiB.
func (s *Splitter) FeedFrom(r io.Reader, emit func(msg []byte) error) (n int, readErr, err error) {
	if s.broken {
		return 0, nil, ErrMessageTooLarge
	}
	if cap(s.buf)-len(s.buf) < minRead {
		s.grow(readChunk)
	}
	end := len(s.buf)
	n, readErr = r.Read(s.buf[end:cap(s.buf)])
	if n <= 0 {
		return 0, readErr, nil
	}
	s.buf = s.buf[:end+n]
	return n, readErr, s.cut(emit)
}

// cut emits the complete messages in buf, searching for NULs after the
// first s.scanned bytes, and moves the rest to the front (or, when
// messages were taken out of its buffer, leaves it where it is).
func (s *Splitter) cut(emit func(msg []byte) error) error {
	start, from := 0, s.scanned
	var err error
	for err == nil {
		i := bytes.IndexByte(s.buf[from:], 0)
		if i < 0 {
			break
		}
		end := from + i
		s.emitStart, s.emitEnd, s.emitted = start, end, true
		err = emit(s.buf[start:end])
		s.emitted = false
		start, from = end+1, end+1
	}
	rest := len(s.buf) - start
	if err == nil && rest > s.limit() {
		s.fail()
		return ErrMessageTooLarge
	}
	if start > 0 {
		if s.shared {
			// Taken messages lie before the rest: it must not move
			// over them. What is read next goes after it.
			s.buf = s.buf[start:]
		} else {
			copy(s.buf, s.buf[start:])
			s.buf = s.buf[:rest]
		}
	}
	s.scanned = rest
	if err != nil {
		s.scanned = 0 // the rest may hold NULs
	}
	if cap(s.buf) > readChunk && rest <= readChunk/2 {
		// The large message is done: go back to the small buffer.
		if s.small == nil {
			s.small = make([]byte, 0, readChunk)
		}
		s.buf = append(s.small[:0], s.buf...)
		s.leave()
	}
	return err
}

// grow makes room for at least more bytes after the pending tail, taking
// large buffers from bigBuffers.
func (s *Splitter) grow(more int) {
	need := len(s.buf) + more
	if need <= readChunk {
		if s.small == nil {
			s.small = make([]byte, 0, readChunk)
		}
		s.buf = append(s.small[:0], s.buf...)
		s.leave()
		return
	}
	// A message outgrew the small buffer: go straight to a pooled one of
	// at least bigStart bytes rather than doubling through fresh ones,
	// which copied the message several times as it grew.
	size := max(2*cap(s.buf), need, bigStart)
	size = min(size, max(need, s.limit()+readChunk))
	var nb []byte
	var na *bigBuf
	if size > keepBuffer {
		na = getBigBuf(need, size)
		nb = na.buf[:0]
	} else {
		nb = make([]byte, 0, size)
	}
	nb = append(nb, s.buf...)
	s.leave()
	s.buf, s.big = nb, na
}

// bigBuf is a large pooled buffer. A Splitter holds one reference to the
// bigBuf it reads into, and each message taken out of it (Take) holds one
// more; the last to let go puts it back into bigBuffers.
type bigBuf struct {
	buf  []byte
	refs atomic.Int32
}

// getBigBuf returns a pooled bigBuf of at least need bytes, or a new one of
// size bytes, with one reference.
func getBigBuf(need, size int) *bigBuf {
	a, _ := bigBuffers.Get().(*bigBuf)
	if a == nil || cap(a.buf) < need {
		a = &bigBuf{buf: make([]byte, 0, size)}
	}
	a.refs.Store(1)
	return a
}

// unref lets go of a reference to a.
func (a *bigBuf) unref() {
	switch n := a.refs.Add(-1); {
	case n == 0:
		bigBuffers.Put(a)
	case n < 0:
		panic("mdsf: a taken message given back twice")
	}
}

// leave lets go of the bigBuf that buf was in; buf must have moved out of it.
func (s *Splitter) leave() {
	if s.big != nil {
		s.big.unref()
		s.big, s.shared = nil, false
	}
}

// Take, called from emit, lets the caller keep the message being emitted
// beyond the call instead of copying it: the message's bytes stay as they
// are until the caller calls giveBack (once, from any goroutine). The
// Splitter goes on reading after them, and the buffer they lie in goes
// back to the pool once every message taken out of it is given back and
// the Splitter has moved on.
//
// Take returns nil, and the message is only valid during emit as usual,
// when it is shorter than the Splitter's small buffer (16 KiB) or not in
// a large pooled buffer (Feed emits some messages from its chunk), or when
// called outside emit.
func (s *Splitter) Take() (giveBack func()) {
	if !s.emitted || s.big == nil || s.emitEnd-s.emitStart < readChunk {
		return nil
	}
	s.big.refs.Add(1)
	s.shared = true
	return s.big.unref
}

// fail drops the tail and marks the stream broken.
func (s *Splitter) fail() {
	s.leave()
	s.buf, s.small, s.scanned, s.broken = nil, nil, 0, true
}

// Buffered returns the number of bytes kept from an unterminated message.
func (s *Splitter) Buffered() int { return len(s.buf) }
