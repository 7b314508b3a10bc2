// Package tcp serves and connects JSTP over TCP, TLS and Unix sockets:
// the reference implementation's net and tls transports. Each message is
// followed by one NUL byte on the stream (PROTOCOL.md section 2).
//
// It has the same API as the WebSocket adapters; only the addresses and
// settings differ. Serving:
//
//	app := jstp.MustNewApplication("chat@1.0.0")
//	app.Handle("chat", "say", func(conn *jstp.Connection, text string) error { ... })
//	srv, err := tcp.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
//	go srv.ListenAndServe("tcp", "127.0.0.1:3000") // or "unix", "/run/chat.sock"
//	defer srv.Shutdown(ctx)
//
// Connecting:
//
//	conn, err := tcp.Connect(ctx, "chat", nil, nil, "tcp://127.0.0.1:3000")
//	res, err := conn.Call(ctx, "chat", "say", "hello")
//
// Addresses are "tcp://host:port", "tls://host:port", "unix:///path" or a
// plain "host:port" (TCP). NewTransport frames any net.Conn, for users who
// bring their own connections.
//
// Limits: an input of more than MaxMessageSize (8 MiB) without a NUL
// closes the connection; a Send that cannot complete within WriteTimeout
// closes it too; a clean close waits up to CloseTimeout for the peer.
package tcp
