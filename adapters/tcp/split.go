package tcp

import (
	"bytes"
	"errors"
)

// Temporary stand-in for mdsf.Splitter (same contract) until core/mdsf
// provides it.

// MaxMessageSize is the largest unterminated tail a connection buffers
// while waiting for the NUL that ends a message: 8 MiB, the limit of the
// reference implementation (PROTOCOL.md section 2).
const MaxMessageSize = 8 << 20

// ErrMessageTooLarge reports a peer that sent more than MaxMessageSize
// bytes without a terminating NUL. The connection is closed with it.
var ErrMessageTooLarge = errors.New("tcp: message exceeds 8 MiB without a NUL terminator")

type splitter struct{ buf []byte }

func (s *splitter) Feed(chunk []byte, emit func(msg []byte) error) error {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, 0)
		if i < 0 {
			if len(s.buf)+len(chunk) > MaxMessageSize {
				s.buf = nil
				return ErrMessageTooLarge
			}
			s.buf = append(s.buf, chunk...)
			return nil
		}
		msg := chunk[:i]
		if len(s.buf) > 0 {
			s.buf = append(s.buf, msg...)
			msg = s.buf
		}
		chunk = chunk[i+1:]
		err := emit(msg)
		if cap(s.buf) > 64<<10 {
			s.buf = nil
		} else {
			s.buf = s.buf[:0]
		}
		if err != nil {
			return err
		}
	}
	return nil
}
