// Package gobwas carries JSTP over WebSocket using github.com/gobwas/ws,
// built for many mostly idle connections: on Linux, a server reads its
// connections from an epoll poller, so an idle connection holds no
// goroutine and no read buffer.
//
// It is the Go form of the reference's ws object (@metarhia/jstp 2.3.0):
// Connect, ConnectAndInspect, Reconnect and NewServer, on top of the
// protocol engine of package jstp.
//
//	app := jstp.MustNewApplication("calc@1.0.0")
//	app.Handle("calculator", "add", func(a, b int) int { return a + b })
//	srv, err := gobwas.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
//	if err != nil { ... }
//	go srv.ListenAndServe("127.0.0.1:8080")
//	defer srv.Shutdown(ctx)
//
//	conn, err := gobwas.Connect(ctx, "calc", nil, nil, "ws://127.0.0.1:8080/")
//	res, err := conn.Call(ctx, "calculator", "add", 2, 3) // [5]
//
// # Server design
//
// After the zero-copy upgrade (ws.Upgrader over the raw connection, under a
// deadline), a plain TCP connection is registered with one epoll instance
// per Server, with EPOLLIN|EPOLLRDHUP|EPOLLONESHOT. When it becomes
// readable, one worker of a small pool reads what is there into a buffer
// of its own, decodes frames (fragmentation, masking, ping, pong, close),
// hands complete messages to the engine in order and rearms the socket.
// ONESHOT guarantees that no two workers read one connection at once. State
// is kept per connection only while a frame or message is incomplete.
// Writes go straight to the socket from the caller, bounded by
// WriteTimeout; messages the engine queued up together (jstp.BatchSender)
// are framed into one buffer and written with one system call.
//
// TLS connections (wss://), connections on systems other than Linux, and
// client connections are read by a goroutine each instead.
//
// # Limits
//
// Inbound messages and frames are limited to MaxMessageSize (8 MiB, close
// code 1009 beyond), as in the reference, not configurable. Outbound
// messages are text frames, fragmented into frames of at most
// MaxFragmentSize (1 MiB). Binary messages are accepted and read as UTF-8
// text. Only the metarhia-jstp subprotocol is accepted.
package gobwas
