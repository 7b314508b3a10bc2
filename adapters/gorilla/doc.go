// Package gorilla serves and connects JSTP (metarhia's JavaScript Transfer
// Protocol) over WebSocket with github.com/gorilla/websocket. It is the
// Go form of the reference implementation's ws object: Connect,
// ConnectAndInspect and Reconnect on the client side, NewServer on the
// server side, with the protocol itself in package jstp.
//
//	app := jstp.MustNewApplication("calc@1.0.0")
//	app.Handle("calculator", "add", func(a, b int) int { return a + b })
//	srv, _ := gorilla.NewServer(jstp.ServerOptions{Applications: []*jstp.Application{app}}, nil)
//	go srv.ListenAndServe("127.0.0.1:8080")
//	defer srv.Shutdown(ctx)
//
//	conn, _ := gorilla.Connect(ctx, "calc", nil, nil, "ws://127.0.0.1:8080/")
//	defer conn.Close()
//	res, _ := conn.Call(ctx, "calculator", "add", 2, 3) // [5]
//
// A Server is an http.Handler, so it can also be mounted on an existing HTTP
// server or mux. It accepts only upgrades offering the metarhia-jstp
// subprotocol. Every connection sends text messages, splitting one over
// MaxFrameSize (1 MiB) into fragments, accepts text and binary messages of
// up to MaxMessageSize (8 MiB), and bounds each write with WriteTimeout.
//
// Each connection has one goroutine reading from it. For connections that
// mostly sit idle, by the hundred thousand, see the gobwas adapter instead.
package gorilla
