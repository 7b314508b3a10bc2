package jstp

import (
	"context"
	"net"
)

// Transport carries serialized JSTP messages for one connection. It is the
// seam between the protocol engine and a network library: an adapter
// implements these four methods and hands the Transport to a Server (which
// serves it) or returns it from a Dialer (which a client connects over).
//
// Concurrency contract:
//   - Start is called exactly once, before any Send.
//   - The engine never calls Send concurrently with another Send, but Close
//     may be called at any time, more than once, and concurrently with Send.
//   - Send may be called from inside Receiver.Message: an adapter must not
//     hold a lock across Receiver calls that Send also needs.
type Transport interface {
	// Start begins delivering inbound messages to r. Messages are delivered
	// one at a time, in arrival order, never concurrently. An adapter may
	// deliver from a goroutine of its own, or from a shared readiness-driven
	// loop (so that an idle connection parks no goroutine). When the
	// transport closes, for any reason, r.Closed is called exactly once and
	// no Message call follows it. The engine's Receiver logs a breach of
	// these rules as ErrTransportMisuse (see there for what it does then).
	Start(r Receiver)

	// Send transmits one complete serialized message. The transport must not
	// modify msg and must not retain it after Send returns: the engine
	// reuses the buffers of large messages as soon as Send is done with
	// them (conformance checks this: Transport/SendKeepsNothing). Send must not
	// block forever on a stalled peer: adapters bound it with a write
	// timeout. After Close, Send returns an error.
	Send(msg []byte) error

	// Close closes the transport. It is safe to call more than once and
	// concurrently with Send. The Receiver's Closed is called (once), even
	// when the close was requested locally.
	Close() error

	// RemoteAddr returns the address of the peer. It must be a real,
	// non-nil address (an adapter over a pipe invents a descriptive one).
	RemoteAddr() net.Addr
}

// Receiver is the engine's side of a Transport: the adapter calls it with
// what arrives from the peer.
type Receiver interface {
	// Message handles one inbound message (a single mdsf text, without
	// framing). data is only valid for the duration of the call: the
	// adapter may reuse its buffer afterwards.
	Message(data []byte)

	// Closed reports that the transport is closed. err is nil for a clean
	// close and describes the failure otherwise. It is called exactly once.
	Closed(err error)
}

// Dialer opens a new client-side Transport, for example a WebSocket
// connection to a given URL. Connect uses it for the first connection and
// the reconnector uses it again after a connection is lost.
type Dialer func(ctx context.Context) (Transport, error)

// BatchSender is an optional interface of a Transport. When messages queue
// up while one is being written (many calls answered at once), the engine
// hands them all to SendBatch, in order, so that the transport can write
// them with one system call. The rules of Send apply to each message, and
// msgs itself must not be retained. A transport without it gets one Send
// per message.
type BatchSender interface {
	SendBatch(msgs [][]byte) error
}

// PartsSender is an optional interface of a Transport. SendParts writes one
// message that is the concatenation of parts, exactly as Send would write
// that message; the rules of Send apply to it and to parts itself.
//
// The engine uses it for a call with a large string argument that needs no
// escaping: the argument's bytes go to the transport from the caller's own
// string (vectored I/O, as with writev), instead of being copied into the
// message first. Some parts are therefore views of Go strings, which are
// immutable: a transport must never write into a part, not even to undo
// the change afterwards (masking a WebSocket frame in place, for example),
// and must not retain one after SendParts returns. A transport without it
// gets each such message copied into one buffer and passed to Send.
//
// Conformance checks both rules (Transport/SendParts).
type PartsSender interface {
	SendParts(parts [][]byte) error
}

// MessageTaker is an optional interface of a Transport. Inside
// Receiver.Message, the engine may call TakeMessage to keep the bytes of
// the message being delivered beyond the call, instead of copying them: it
// does so for large calls to methods registered with BorrowArgs, whose
// arguments are then parsed where the transport read them.
//
// TakeMessage makes the memory of the message being delivered the
// engine's: the transport must neither modify nor reuse it until release
// is called, which the engine does once, from any goroutine, when nothing
// uses the message any more. It reports false, and keeps the message, when
// it cannot give it away (the engine then copies the message). It is only
// called from inside Receiver.Message, on the delivering goroutine.
type MessageTaker interface {
	TakeMessage() (release func(), ok bool)
}

// ReadBatcher is an optional interface of a Transport whose reader knows
// where each read from the network ends. When ReadsBatches reports true
// (the engine asks once, before Start), the transport promises that its
// Receiver, which then implements BatchEnder, gets an EndBatch call after
// the messages of each read have been delivered and before the reader
// waits for more input.
//
// The engine uses it for methods registered with NonBlocking: it runs
// them on the delivering goroutine as their calls arrive, and writes the
// answers to all the calls of one read together at EndBatch. A transport
// that reports true and does not call EndBatch leaves those answers
// unwritten; conformance checks that they arrive (Call/NonBlocking).
type ReadBatcher interface {
	ReadsBatches() bool
}

// BatchEnder is implemented by the Receiver the engine passes to the
// Start of a Transport that is a ReadBatcher. EndBatch reports that the
// messages of one read have all been delivered. It is called on the
// delivering goroutine, never concurrently with Message, and may be
// called after a read that completed no message.
type BatchEnder interface {
	EndBatch()
}
