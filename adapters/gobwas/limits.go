package gobwas

import "time"

// Subprotocol is the WebSocket subprotocol of JSTP. The server accepts an
// upgrade only when the client offers it, and the client always offers it
// (the reference's constants.WEBSOCKET_PROTOCOL_NAME, PROTOCOL.md section 2).
const Subprotocol = "metarhia-jstp"

// MaxMessageSize is the largest inbound message, and the largest single
// inbound frame, that a connection accepts: 8 MiB, the reference server's
// maxReceivedFrameSize and maxReceivedMessageSize (MAX_MESSAGE_SIZE in
// lib/internal-constants.js; PROTOCOL.md section 2). A peer that announces or
// sends more is disconnected with close code 1009 (message too big). As in
// the reference, it cannot be changed.
const MaxMessageSize = 8 << 20

// MaxFragmentSize is the largest frame this adapter sends. A longer message
// goes out as a text frame followed by continuation frames of at most this
// size, because the reference's Node client (websocket-node with its default
// maxReceivedFrameSize) drops a connection on any single frame over 1 MiB
// (PROTOCOL.md section 2).
const MaxFragmentSize = 1 << 20

// WriteTimeout bounds one Send (and one control frame write), so that a peer
// that stops reading cannot block the engine forever: after it, the write
// fails and the connection is closed. (The deadline is renewed at most every
// tenth of it, so a stalled write fails after between nine tenths of
// WriteTimeout and all of it.)
const WriteTimeout = 10 * time.Second

// DefaultUpgradeTimeout bounds the WebSocket upgrade (and, for wss, the TLS
// handshake) of an accepted connection when neither ServerConfig nor the
// engine's options set one. It equals the reference's JSTP handshake timeout
// (3 s, jstp.DefaultHandshakeTimeout), so a client that trickles its HTTP
// request (slowloris) cannot hold a goroutine longer than that.
const DefaultUpgradeTimeout = 3 * time.Second

// CloseTimeout is how long a connection that sent a close frame waits for
// the peer's reply (its close frame or end of stream) before the socket is
// closed anyway: the WebSocket closing handshake of RFC 6455 section 7,
// bounded so that a silent peer cannot keep a socket open.
const CloseTimeout = 1 * time.Second

// Internal sizes; none of them is a protocol limit.
const (
	// readChunkSize is the size of the temporary buffer a poller worker reads
	// into. It belongs to the worker, not to the connection.
	readChunkSize = 32 << 10

	// streamReadSize is the read buffer of a connection driven by a
	// goroutine of its own (client side, wss, non-Linux).
	streamReadSize = 16 << 10

	// maxHandshakeBytes caps what an HTTP upgrade request may send before the
	// upgrade completes; a longer request is dropped.
	maxHandshakeBytes = 64 << 10

	// maxReadsPerEvent bounds the reads a poller worker performs for one
	// readiness event before it rearms the connection, so that one busy
	// connection cannot starve the others.
	maxReadsPerEvent = 16
)
