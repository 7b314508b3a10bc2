package mdsf

import (
	"bytes"
	"errors"
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

	buf    []byte
	broken bool
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
	for {
		i := bytes.IndexByte(chunk, 0)
		if i < 0 {
			break
		}
		var err error
		if len(s.buf) > 0 {
			s.buf = append(s.buf, chunk[:i]...)
			err = emit(s.buf)
			s.buf = s.buf[:0]
		} else {
			err = emit(chunk[:i])
		}
		chunk = chunk[i+1:]
		if err != nil {
			s.buf = append(s.buf, chunk...)
			return err
		}
	}
	limit := s.MaxSize
	if limit <= 0 {
		limit = MaxMessageSize
	}
	if len(s.buf)+len(chunk) > limit {
		s.buf = nil
		s.broken = true
		return ErrMessageTooLarge
	}
	if len(s.buf) == 0 && cap(s.buf) > 1<<16 && len(chunk) < 1<<12 {
		s.buf = nil // let a big buffer go after a big message
	}
	s.buf = append(s.buf, chunk...)
	return nil
}

// Buffered returns the number of bytes kept from an unterminated message.
func (s *Splitter) Buffered() int { return len(s.buf) }
