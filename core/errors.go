package jstp

import (
	"errors"
	"fmt"
	"strconv"
)

// JSTP error codes. Negative codes are local: they never travel on the wire
// but report what happened to a call or handshake on this side.
const (
	CodeCallbackLost          = -1 // the connection closed before the callback arrived
	CodeNoHandshakeResponse   = -2 // the connection closed before the handshake answer arrived
	CodeAppNotFound           = 10
	CodeAuthFailed            = 11
	CodeInterfaceNotFound     = 12
	CodeInterfaceIncompatible = 13
	CodeMethodNotFound        = 14
	CodeNotAServer            = 15
	CodeInternalAPIError      = 16
	CodeInvalidSignature      = 17
)

// defaultMessages holds the message each predefined code carries when none
// is given; a predefined code travels alone on the wire.
var defaultMessages = map[int]string{
	CodeCallbackLost:          "Connection closed before receiving callback",
	CodeNoHandshakeResponse:   "Connection closed before receiving handshake",
	CodeAppNotFound:           "Application not found",
	CodeAuthFailed:            "Authentication failed",
	CodeInterfaceNotFound:     "Interface not found",
	CodeInterfaceIncompatible: "Incompatible interface",
	CodeMethodNotFound:        "Method not found",
	CodeNotAServer:            "Not a server",
	CodeInternalAPIError:      "Internal API error",
	CodeInvalidSignature:      "Invalid signature",
}

// DefaultMessage returns the standard message for a predefined code, or ""
// when the code is not predefined.
func DefaultMessage(code int) string { return defaultMessages[code] }

// RemoteError is a JSTP error: a numeric code, a message and optional extra
// information. It is what a remote peer answered (Call returns it), and what
// a method returns to answer with a particular code.
//
// Use errors.Is with the predefined values (ErrAuthFailed, ...) to test a
// code, or errors.As to get the *RemoteError itself.
type RemoteError struct {
	Code    int
	Message string
	Info    []any
}

// NewError returns a RemoteError with the given code, message and extra
// information. An empty message takes the code's default message.
func NewError(code int, message string, info ...any) *RemoteError {
	if message == "" {
		message = defaultMessages[code]
	}
	return &RemoteError{Code: code, Message: message, Info: info}
}

// Error implements error.
func (e *RemoteError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = defaultMessages[e.Code]
	}
	if msg == "" {
		return "jstp: remote error " + strconv.Itoa(e.Code)
	}
	return fmt.Sprintf("jstp: %s (code %d)", msg, e.Code)
}

// Is reports whether target is a *RemoteError with the same code, so that
// errors.Is(err, jstp.ErrMethodNotFound) matches any error with code 14.
func (e *RemoteError) Is(target error) bool {
	t, ok := target.(*RemoteError)
	return ok && t.Code == e.Code
}

// wire returns the error's payload as it travels: a predefined code alone,
// anything else as [code, message, ...info].
func (e *RemoteError) wire() []any {
	if _, std := defaultMessages[e.Code]; std || e.Message == "" {
		return []any{float64(e.Code)}
	}
	out := make([]any, 0, 2+len(e.Info))
	out = append(out, float64(e.Code), e.Message)
	return append(out, e.Info...)
}

// errorFromWire builds a RemoteError from a received error payload.
func errorFromWire(v any) *RemoteError {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return &RemoteError{Code: CodeInternalAPIError, Message: fmt.Sprintf("malformed error payload %v", v)}
	}
	e := &RemoteError{}
	switch c := arr[0].(type) {
	case float64:
		e.Code = int(c)
	default:
		e.Code = 1
		e.Message = fmt.Sprint(c)
	}
	if len(arr) > 1 {
		if s, ok := arr[1].(string); ok {
			e.Message = s
		} else {
			e.Message = fmt.Sprint(arr[1])
		}
	} else if e.Message == "" {
		e.Message = defaultMessages[e.Code]
	}
	if len(arr) > 2 {
		e.Info = arr[2:]
	}
	return e
}

// Predefined errors, for errors.Is.
var (
	ErrCallbackLost          = &RemoteError{Code: CodeCallbackLost, Message: defaultMessages[CodeCallbackLost]}
	ErrNoHandshakeResponse   = &RemoteError{Code: CodeNoHandshakeResponse, Message: defaultMessages[CodeNoHandshakeResponse]}
	ErrAppNotFound           = &RemoteError{Code: CodeAppNotFound, Message: defaultMessages[CodeAppNotFound]}
	ErrAuthFailed            = &RemoteError{Code: CodeAuthFailed, Message: defaultMessages[CodeAuthFailed]}
	ErrInterfaceNotFound     = &RemoteError{Code: CodeInterfaceNotFound, Message: defaultMessages[CodeInterfaceNotFound]}
	ErrInterfaceIncompatible = &RemoteError{Code: CodeInterfaceIncompatible, Message: defaultMessages[CodeInterfaceIncompatible]}
	ErrMethodNotFound        = &RemoteError{Code: CodeMethodNotFound, Message: defaultMessages[CodeMethodNotFound]}
	ErrNotAServer            = &RemoteError{Code: CodeNotAServer, Message: defaultMessages[CodeNotAServer]}
	ErrInternalAPIError      = &RemoteError{Code: CodeInternalAPIError, Message: defaultMessages[CodeInternalAPIError]}
	ErrInvalidSignature      = &RemoteError{Code: CodeInvalidSignature, Message: defaultMessages[CodeInvalidSignature]}
)

// Local errors.
var (
	// ErrClosed is returned by operations on a connection that was closed
	// intentionally or could not be restored.
	ErrClosed = errors.New("jstp: connection closed")
	// ErrServerClosed is returned by Server operations after Shutdown.
	ErrServerClosed = errors.New("jstp: server closed")
	// ErrHandshakeTimeout is the close reason of a connection that did not
	// complete its handshake in time.
	ErrHandshakeTimeout = errors.New("jstp: handshake timeout")
	// ErrProtocol reports a message that violates the protocol.
	ErrProtocol = errors.New("jstp: protocol violation")
	// ErrTransportMisuse is logged (LogError) when a Transport breaks what
	// Transport.Start promises its Receiver: a call while another is under
	// way, a second Closed, or a Message after Closed. The engine drops
	// the offending Message or Closed (an overlapping Message also closes
	// the transport), except a first Closed that overlaps a Message: that
	// one still ends the connection's use of the transport.
	ErrTransportMisuse = errors.New("jstp: transport broke the Receiver contract")
)

// toWireError converts what a method returned into the error payload sent to
// the peer. A *RemoteError (anywhere in the chain) travels as itself; any
// other error is reported as 16, Internal API error, so that internal details
// do not leak to the peer.
func toWireError(err error) []any {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.wire()
	}
	return []any{float64(CodeInternalAPIError)}
}
