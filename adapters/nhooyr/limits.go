package nhooyr

import "time"

// Subprotocol is the WebSocket subprotocol JSTP runs over. The server
// accepts an upgrade only when the client offers it, and the client always
// offers it (PROTOCOL.md section 2).
const Subprotocol = "metarhia-jstp"

// Limits. They are fixed, not settings: the reference server does not let
// its users override them either.
const (
	// MaxMessageSize is the largest inbound message, and so the largest
	// inbound frame, a connection accepts: 8 MiB, the maxReceivedMessageSize
	// and maxReceivedFrameSize the reference's WebSocket server is created
	// with. A peer that sends more is disconnected with close code 1009
	// (message too big).
	MaxMessageSize = 8 << 20

	// MaxFrameSize is the largest frame payload this adapter sends: 1 MiB,
	// the default maxReceivedFrameSize of the reference's Node client, which
	// drops a connection on any larger frame. A longer message goes out as
	// a fragmented message of frames no larger than this.
	MaxFrameSize = 1 << 20

	// WriteTimeout bounds how long Send may take to hand one message to the
	// network, so a stalled peer cannot block the engine forever. A Send
	// that times out breaks the connection.
	//
	// The deadline is computed at most once per deadlineReuse and reused
	// meanwhile, so a send may time out up to that much sooner: after
	// between 9 and 10 s.
	WriteTimeout = 10 * time.Second

	// deadlineReuse is how long a computed write deadline is reused (a
	// tenth of the write timeout if that is less).
	deadlineReuse = time.Second

	// CloseTimeout is how long a locally closed connection waits for the
	// peer's answering close frame before the TCP connection is cut anyway.
	CloseTimeout = 3 * time.Second

	// readHeaderTimeout bounds reading the HTTP request of an upgrade, so a
	// client that opens a socket and says nothing is dropped.
	readHeaderTimeout = 10 * time.Second
)
