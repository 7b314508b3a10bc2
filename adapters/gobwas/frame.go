package gobwas

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/jstp-go/jstp/adapters/internal/readbuf"
)

// CloseError reports that the peer closed the WebSocket connection with a
// close frame whose code is not a normal one (1000 or 1001), or that this
// side failed the connection with that code (for example 1009 when the peer
// sent a message over MaxMessageSize). It is the error a Receiver's Closed
// gets in those cases.
type CloseError struct {
	Code   ws.StatusCode // the WebSocket close code
	Reason string        // the close reason, possibly empty
	Local  bool          // true when this side sent the code because the peer misbehaved
}

// Error describes the close.
func (e *CloseError) Error() string {
	who := "peer closed the connection"
	if e.Local {
		who = "connection failed"
	}
	if e.Reason == "" {
		return fmt.Sprintf("gobwas: %s with code %d", who, e.Code)
	}
	return fmt.Sprintf("gobwas: %s with code %d: %s", who, e.Code, e.Reason)
}

// protocolError fails the connection with a close code.
func protocolError(code ws.StatusCode, reason string) error {
	return &CloseError{Code: code, Reason: reason, Local: true}
}

// frameHandler receives what frameReader decodes.
type frameHandler interface {
	// message gets one complete data message; data is valid during the call.
	message(data []byte) error
	// control gets one control frame (ping, pong or close) with its
	// unmasked payload, valid during the call.
	control(op ws.OpCode, payload []byte) error
}

// frameReader decodes the inbound WebSocket stream of one connection from
// chunks of bytes as they arrive, whatever the chunk boundaries.
//
// It is built for idle connections: between messages it holds nothing but
// a nil pointer. Its state (partial) exists only while a frame header, a
// frame payload or a fragmented message is incomplete, and is dropped as
// soon as the message is delivered. A complete frame found whole in the
// chunk is unmasked in place and delivered from the chunk, without a copy.
type frameReader struct {
	masked bool // inbound frames must be masked (server side) or must not (client side)
	st     *partial
}

// partial is the state of an incomplete frame or message.
type partial struct {
	hdr     [ws.MaxHeaderSize]byte // bytes of a header cut by a chunk boundary
	hn      int                    // how many bytes of hdr are filled
	h       ws.Header              // header of the frame whose payload is incomplete
	inFrame bool                   // a payload is incomplete: h, left and pos are valid
	left    int64                  // payload bytes of the frame still to come
	pos     int                    // payload bytes of the frame already seen (mask offset)
	op      ws.OpCode              // opcode of the fragmented message in progress, 0 if none
	msg     []byte                 // data of the message in progress
	ctrl    []byte                 // payload of an incomplete control frame
}

func (r *frameReader) state() *partial {
	if r.st == nil {
		r.st = new(partial)
	}
	return r.st
}

// inMessage reports whether a fragmented message is in progress and its
// length so far.
func (r *frameReader) inMessage() (bool, int) {
	if r.st == nil || r.st.op == 0 {
		return false, 0
	}
	return true, len(r.st.msg)
}

// feed decodes p. It may modify p (unmasking in place). It stops at the
// first error returned by h or found in the stream; a *CloseError means the
// connection must be failed with its code.
func (r *frameReader) feed(p []byte, h frameHandler) error {
	for len(p) > 0 {
		st := r.st
		if st != nil && st.inFrame {
			take := int(min(st.left, int64(len(p))))
			chunk := p[:take]
			p = p[take:]
			if st.h.Masked {
				ws.Cipher(chunk, st.h.Mask, st.pos)
			}
			st.pos += take
			st.left -= int64(take)
			if st.h.OpCode.IsControl() {
				st.ctrl = append(st.ctrl, chunk...)
			} else {
				st.msg = appendBounded(st.msg, chunk, st.left)
			}
			if st.left > 0 {
				continue
			}
			st.inFrame = false
			var err error
			if st.h.OpCode.IsControl() {
				err = h.control(st.h.OpCode, st.ctrl)
				st.ctrl = nil
			} else if st.h.Fin {
				err = r.deliver(h)
			}
			if err != nil {
				return err
			}
			continue
		}

		// A header is due.
		var fh ws.Header
		if st != nil && st.hn > 0 {
			k := copy(st.hdr[st.hn:], p)
			hh, n, ok, err := parseHeader(st.hdr[:st.hn+k])
			if err != nil {
				return err
			}
			if !ok {
				// hdr can hold the longest header, so the chunk is used up.
				st.hn += k
				p = p[k:]
				continue
			}
			p = p[n-st.hn:]
			st.hn = 0
			fh = hh
		} else {
			hh, n, ok, err := parseHeader(p)
			if err != nil {
				return err
			}
			if !ok {
				st = r.state()
				st.hn = copy(st.hdr[:], p)
				break
			}
			p = p[n:]
			fh = hh
		}
		if err := r.check(fh); err != nil {
			return err
		}

		if int64(len(p)) >= fh.Length {
			// The whole payload is in this chunk.
			payload := p[:fh.Length]
			p = p[fh.Length:]
			if fh.Masked {
				ws.Cipher(payload, fh.Mask, 0)
			}
			var err error
			switch {
			case fh.OpCode.IsControl():
				err = h.control(fh.OpCode, payload)
			case fh.Fin && fh.OpCode != ws.OpContinuation:
				// The common case: a whole message in one frame, no copy.
				err = deliverMessage(h, fh.OpCode, payload)
			default:
				st = r.state()
				if fh.OpCode != ws.OpContinuation {
					st.op = fh.OpCode
				}
				st.msg = appendBounded(st.msg, payload, 0)
				if fh.Fin {
					err = r.deliver(h)
				}
			}
			if err != nil {
				return err
			}
			continue
		}

		// The payload continues in later chunks.
		st = r.state()
		if !fh.OpCode.IsControl() && fh.OpCode != ws.OpContinuation {
			st.op = fh.OpCode
		}
		st.h = fh
		st.inFrame = true
		st.left = fh.Length
		st.pos = 0
	}
	r.release()
	return nil
}

// release drops the state when nothing is incomplete.
func (r *frameReader) release() {
	if st := r.st; st != nil && st.hn == 0 && !st.inFrame && st.op == 0 {
		r.st = nil
	}
}

// deliver hands the reassembled message to h and gives its buffer back to
// the pool: the handler does not keep the bytes past the call.
func (r *frameReader) deliver(h frameHandler) error {
	st := r.st
	op, msg := st.op, st.msg
	st.op, st.msg = 0, nil
	err := deliverMessage(h, op, msg)
	readbuf.Put(msg)
	return err
}

func deliverMessage(h frameHandler, op ws.OpCode, data []byte) error {
	if op == ws.OpText {
		if !utf8.Valid(data) {
			return protocolError(ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8")
		}
	} else if !utf8.Valid(data) {
		// A binary message is decoded as UTF-8 text, as the reference does
		// (Buffer.toString), invalid sequences becoming U+FFFD.
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return h.message(data)
}

// check validates a frame header against RFC 6455 and the size limit.
func (r *frameReader) check(h ws.Header) error {
	if h.Rsv != 0 {
		return protocolError(ws.StatusProtocolError, "reserved bits set without a negotiated extension")
	}
	if h.Masked != r.masked {
		if r.masked {
			return protocolError(ws.StatusProtocolError, "unmasked frame from a client")
		}
		return protocolError(ws.StatusProtocolError, "masked frame from a server")
	}
	switch h.OpCode {
	case ws.OpClose, ws.OpPing, ws.OpPong:
		if !h.Fin {
			return protocolError(ws.StatusProtocolError, "fragmented control frame")
		}
		if h.Length > 125 {
			return protocolError(ws.StatusProtocolError, "control frame payload over 125 bytes")
		}
		return nil
	case ws.OpText, ws.OpBinary:
		if busy, _ := r.inMessage(); busy {
			return protocolError(ws.StatusProtocolError, "new message inside a fragmented one")
		}
		if h.Length > MaxMessageSize {
			return protocolError(ws.StatusMessageTooBig, "frame over 8 MiB")
		}
		return nil
	case ws.OpContinuation:
		busy, n := r.inMessage()
		if !busy {
			return protocolError(ws.StatusProtocolError, "continuation frame outside a fragmented message")
		}
		if h.Length > MaxMessageSize-int64(n) {
			return protocolError(ws.StatusMessageTooBig, "message over 8 MiB")
		}
		return nil
	default:
		return protocolError(ws.StatusProtocolError, "reserved opcode")
	}
}

var errHeaderLength = protocolError(ws.StatusProtocolError, "frame length with the most significant bit set")

// parseHeader decodes the frame header at the start of b. ok is false when
// b holds only part of it.
func parseHeader(b []byte) (h ws.Header, n int, ok bool, err error) {
	if len(b) < 2 {
		return h, 0, false, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	l := b[1] & 0x7f
	switch l {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h.Masked {
		n += 4
	}
	if len(b) < n {
		return h, 0, false, nil
	}
	p := 2
	switch l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		p = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, false, errHeaderLength
		}
		h.Length = int64(u)
		p = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], b[p:p+4])
	}
	return h, n, true, nil
}

// appendBounded appends src to dst, the message so far, when rest more
// bytes of the current frame are announced after src. A message buffer
// comes from the shared pool of readbuf and goes back to it once the
// message is delivered, so a stream of messages larger than a read chunk
// reuses buffers instead of growing one for each.
//
// When dst is full, a free pooled buffer that holds the whole frame (the
// message so far and rest) is taken, so a message announced in one frame
// is then read without further growth. Without one, the new buffer is
// allocated on the bytes that actually arrived, never on the length the
// peer announced: at most the size class of twice the old buffer or of
// what arrived, and no more than the frame needs. A peer that announces
// 8 MiB and sends little thus makes the connection allocate little. The
// buffer replaced goes back to the pool. check guarantees that the frame
// fits in MaxMessageSize.
func appendBounded(dst, src []byte, rest int64) []byte {
	need := len(dst) + len(src)
	if need <= cap(dst) {
		return append(dst, src...)
	}
	total := need + int(rest)
	nb := readbuf.Pooled(total)
	if nb == nil {
		nb = readbuf.Get(min(max(2*cap(dst), need), total))
	}
	nb = append(nb, dst...)
	readbuf.Put(dst)
	return append(nb, src...)
}

// appendHeader encodes a frame header.
func appendHeader(b []byte, h ws.Header) []byte {
	b0 := byte(h.OpCode) | h.Rsv<<4
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length < 126:
		b = append(b, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		b = append(b, b0, b1|126)
		b = binary.BigEndian.AppendUint16(b, uint16(h.Length))
	default:
		b = append(b, b0, b1|127)
		b = binary.BigEndian.AppendUint64(b, uint64(h.Length))
	}
	if h.Masked {
		b = append(b, h.Mask[:]...)
	}
	return b
}

// writeBufs holds frame buffers between writes, so that a Send allocates
// nothing in the steady state and an idle connection owns no write buffer.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledWrite is the largest buffer kept in writeBufs: one full fragment.
const maxPooledWrite = MaxFragmentSize + ws.MaxHeaderSize

// writeMessage writes msg as one text message: a single frame, or a text
// frame and continuation frames of at most MaxFragmentSize each. Client
// frames (mask true) are masked with a fresh key per frame; msg itself is
// never modified.
func writeMessage(w io.Writer, msg []byte, mask bool) error {
	op := ws.OpText
	for {
		n := min(len(msg), MaxFragmentSize)
		chunk := msg[:n]
		msg = msg[n:]
		fin := len(msg) == 0
		if err := writeFrame(w, op, fin, chunk, mask); err != nil {
			return err
		}
		if fin {
			return nil
		}
		op = ws.OpContinuation
	}
}

// writeFrame writes one frame with a single Write call.
func writeFrame(w io.Writer, op ws.OpCode, fin bool, payload []byte, mask bool) error {
	bp := writeBufs.Get().(*[]byte)
	b := appendFrame((*bp)[:0], op, fin, payload, mask)
	_, err := w.Write(b)
	if cap(b) <= maxPooledWrite {
		*bp = b[:0]
		writeBufs.Put(bp)
	}
	return err
}

// writeMessages writes msgs in order, each as writeMessage would (a text
// frame, continuation frames past MaxFragmentSize, masked when mask is
// true), with as few Write calls as it can: the frames are built one after
// another in one pooled buffer of at most maxPooledWrite bytes, which is
// written when the next frame does not fit, and at the end. Frames of
// short messages thus go out together in one write; a long message costs a
// write per fragment, as with writeMessage. before, when not nil, runs
// before each Write (to set a deadline, or to stop with its error). The
// messages are never modified.
func writeMessages(w io.Writer, msgs [][]byte, mask bool, before func() error) error {
	bp := writeBufs.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooledWrite {
			*bp = b[:0]
			writeBufs.Put(bp)
		}
	}()
	flush := func() error {
		if before != nil {
			if err := before(); err != nil {
				return err
			}
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	for _, msg := range msgs {
		op := ws.OpText
		for {
			n := min(len(msg), MaxFragmentSize)
			chunk := msg[:n]
			msg = msg[n:]
			fin := len(msg) == 0
			size := frameHeaderSize(n, mask) + n
			if len(b) > 0 && len(b)+size > maxPooledWrite {
				if err := flush(); err != nil {
					return err
				}
			}
			if len(b)+size > cap(b) {
				nb := make([]byte, len(b), min(max(2*cap(b), len(b)+size), maxPooledWrite))
				copy(nb, b)
				b = nb
			}
			b = appendFrame(b, op, fin, chunk, mask)
			if fin {
				break
			}
			op = ws.OpContinuation
		}
	}
	if len(b) == 0 {
		return nil
	}
	return flush()
}

// writeParts writes the message made of parts, in order, as writeMessage
// writes that message (the same frames: a text frame, continuation frames
// past MaxFragmentSize, each masked with a fresh key when mask is true),
// without joining the parts first: each frame is built from the parts it
// spans, in one pooled buffer, and written with one Write call. The parts
// are never modified.
func writeParts(w io.Writer, parts [][]byte, mask bool) error {
	rest := 0
	for _, p := range parts {
		rest += len(p)
	}
	bp := writeBufs.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooledWrite {
			*bp = b[:0]
			writeBufs.Put(bp)
		}
	}()
	op := ws.OpText
	for {
		n := min(rest, MaxFragmentSize)
		rest -= n
		h := ws.Header{Fin: rest == 0, OpCode: op, Length: int64(n), Masked: mask}
		if mask {
			h.Mask = ws.NewMask()
		}
		b = appendHeader(b[:0], h)
		off := len(b)
		for n > 0 {
			k := min(n, len(parts[0]))
			b = append(b, parts[0][:k]...)
			parts[0] = parts[0][k:] // the slice header only: parts is ours to consume
			if len(parts[0]) == 0 {
				parts = parts[1:]
			}
			n -= k
		}
		for len(parts) > 0 && len(parts[0]) == 0 {
			parts = parts[1:]
		}
		if mask {
			ws.Cipher(b[off:], h.Mask, 0)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if rest == 0 {
			return nil
		}
		op = ws.OpContinuation
	}
}

// frameHeaderSize is the size of the header of a frame with n bytes of
// payload.
func frameHeaderSize(n int, mask bool) int {
	size := 2
	switch {
	case n > 0xffff:
		size += 8
	case n >= 126:
		size += 2
	}
	if mask {
		size += 4
	}
	return size
}

// appendFrame appends one frame to b: its header, then payload, masked
// with a fresh key when mask is true (payload itself is not modified).
func appendFrame(b []byte, op ws.OpCode, fin bool, payload []byte, mask bool) []byte {
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(payload)), Masked: mask}
	if mask {
		h.Mask = ws.NewMask()
	}
	b = appendHeader(b, h)
	off := len(b)
	b = append(b, payload...)
	if mask {
		ws.Cipher(b[off:], h.Mask, 0)
	}
	return b
}

// closePayload builds a close frame body.
func closePayload(code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return nil
	}
	if len(reason) > 123 {
		reason = reason[:123]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	return ws.NewCloseFrameBody(code, reason)
}

// parseClose validates a received close frame body (RFC 6455 section
// 5.5.1 and 7.4) and returns its code (StatusNoStatusRcvd when empty).
func parseClose(p []byte) (ws.StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return ws.StatusNoStatusRcvd, "", nil
	case len(p) == 1:
		return 0, "", protocolError(ws.StatusProtocolError, "close frame with a one-byte body")
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	reason := p[2:]
	if !validCloseCode(code) {
		return 0, "", protocolError(ws.StatusProtocolError, "invalid close code")
	}
	if !utf8.Valid(reason) {
		return 0, "", protocolError(ws.StatusInvalidFramePayloadData, "close reason is not valid UTF-8")
	}
	return code, string(reason), nil
}

func validCloseCode(c ws.StatusCode) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1011:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// errStop ends the processing of the current chunk without failing the
// connection (it is closed or closing already).
var errStop = errors.New("gobwas: stop reading")
