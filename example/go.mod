module github.com/jstp-go/jstp/example

go 1.26

require (
	github.com/jstp-go/jstp/adapters/gobwas v0.0.0
	github.com/jstp-go/jstp/adapters/gorilla v0.0.0
	github.com/jstp-go/jstp/adapters/nhooyr v0.0.0
	github.com/jstp-go/jstp/adapters/tcp v0.0.0
	github.com/jstp-go/jstp/core v0.0.0
)

replace (
	github.com/jstp-go/jstp/adapters/gobwas => ../adapters/gobwas
	github.com/jstp-go/jstp/adapters/gorilla => ../adapters/gorilla
	github.com/jstp-go/jstp/adapters/nhooyr => ../adapters/nhooyr
	github.com/jstp-go/jstp/adapters/tcp => ../adapters/tcp
	github.com/jstp-go/jstp/conformance => ../conformance
	github.com/jstp-go/jstp/core => ../core
)
