package tcp

import "github.com/jstp-go/jstp/core/mdsf"

// MaxMessageSize is the largest unterminated input a connection buffers
// while waiting for the NUL that ends a message: 8 MiB, the limit of the
// reference implementation (PROTOCOL.md section 2). It is mdsf's limit.
const MaxMessageSize = mdsf.MaxMessageSize

// ErrMessageTooLarge is what the Receiver is told when a peer sent more
// than MaxMessageSize bytes without a NUL; the connection is closed.
var ErrMessageTooLarge = mdsf.ErrMessageTooLarge
