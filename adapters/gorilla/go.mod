module github.com/jstp-go/jstp/adapters/gorilla

go 1.26

require github.com/jstp-go/jstp/core v0.0.0

replace github.com/jstp-go/jstp/core => ../../core

require github.com/jstp-go/jstp/conformance v0.0.0

require (
	github.com/gorilla/websocket v1.5.3
	go.uber.org/goleak v1.3.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/ws v1.5.0 // indirect
)

replace github.com/jstp-go/jstp/conformance => ../../conformance

// Test only: the cross-adapter matrix (matrix_test.go) runs this adapter
// against the other WebSocket adapters and the socket adapter.
require (
	github.com/jstp-go/jstp/adapters/gobwas v0.0.0
	github.com/jstp-go/jstp/adapters/nhooyr v0.0.0
	github.com/jstp-go/jstp/adapters/tcp v0.0.0
)

replace (
	github.com/jstp-go/jstp/adapters/gobwas => ../gobwas
	github.com/jstp-go/jstp/adapters/nhooyr => ../nhooyr
	github.com/jstp-go/jstp/adapters/tcp => ../tcp
)

require github.com/jstp-go/jstp/adapters/internal v0.0.0

replace github.com/jstp-go/jstp/adapters/internal => ../internal
