package jstp

import (
	"context"
	"log/slog"
)

// LogKind names what a LogEvent reports.
type LogKind string

// Log event kinds, after the reference's logging events.
const (
	LogIncoming         LogKind = "incomingMessage"  // a message arrived (Message holds its text)
	LogOutgoing         LogKind = "outgoingMessage"  // a message was sent (Message holds its text)
	LogRejected         LogKind = "messageRejected"  // a message was refused (Message, Err)
	LogHeartbeat        LogKind = "heartbeat"        // an empty {} message arrived
	LogHandshake        LogKind = "handshake"        // a handshake completed or failed (Err)
	LogHandshakeRequest LogKind = "handshakeRequest" // a server got a handshake (Interface holds the app, Name the strategy)
	LogHandshakeTimeout LogKind = "handshakeTimeout" // a server closed a connection that did not handshake in time
	LogCall             LogKind = "call"             // a call arrived (Interface, Name, Args)
	LogCallback         LogKind = "callback"         // a callback arrived (Args or Err)
	LogEventMsg         LogKind = "event"            // an event arrived (Interface, Name, Args)
	LogInspect          LogKind = "inspect"          // an inspect arrived (Interface)
	LogReconnectAttempt LogKind = "reconnectAttempt" // a client starts a reconnection attempt
	LogReconnect        LogKind = "reconnect"        // a reconnection attempt ended (Err)
	LogPanic            LogKind = "panic"            // a method or handler panicked (Err)
	LogError            LogKind = "error"            // a transport or storage error (Err)
)

// LogEvent is one observation of a connection's life, delivered to the
// Hook and Logger of the server or client.
type LogEvent struct {
	Kind      LogKind
	Conn      *Connection
	Message   []byte // message text, for incoming/outgoing/rejected
	Interface string
	Name      string
	Args      []any
	Err       error
}

// logger fans events out to a hook and an slog.Logger; its zero value logs
// nothing and costs nothing.
type logger struct {
	hook func(LogEvent)
	slog *slog.Logger
}

func (l *logger) enabled() bool {
	return l.hook != nil || (l.slog != nil && l.slog.Enabled(context.Background(), slog.LevelDebug))
}

func (l *logger) emit(ev LogEvent) {
	if l.hook != nil {
		l.hook(ev)
	}
	if l.slog != nil {
		level := slog.LevelDebug
		if ev.Err != nil && (ev.Kind == LogPanic || ev.Kind == LogError) {
			level = slog.LevelError
		}
		if !l.slog.Enabled(context.Background(), level) {
			return
		}
		attrs := []slog.Attr{slog.String("kind", string(ev.Kind))}
		if ev.Conn != nil {
			attrs = append(attrs, slog.Uint64("conn", ev.Conn.ID()))
		}
		if ev.Message != nil {
			attrs = append(attrs, slog.String("message", string(ev.Message)))
		}
		if ev.Interface != "" {
			attrs = append(attrs, slog.String("interface", ev.Interface))
		}
		if ev.Name != "" {
			attrs = append(attrs, slog.String("name", ev.Name))
		}
		if ev.Args != nil {
			attrs = append(attrs, slog.Any("args", ev.Args))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		l.slog.LogAttrs(context.Background(), level, "jstp "+string(ev.Kind), attrs...)
	}
}
