module github.com/jstp-go/jstp/example

go 1.26

require (
	github.com/jstp-go/jstp/adapters/gobwas v0.0.0
	github.com/jstp-go/jstp/adapters/gorilla v0.0.0
	github.com/jstp-go/jstp/adapters/nhooyr v0.0.0
	github.com/jstp-go/jstp/adapters/tcp v0.0.0
	github.com/jstp-go/jstp/core v0.0.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/ws v1.5.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/jstp-go/jstp/adapters/internal v0.0.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

replace (
	github.com/jstp-go/jstp/adapters/gobwas => ../adapters/gobwas
	github.com/jstp-go/jstp/adapters/gorilla => ../adapters/gorilla
	github.com/jstp-go/jstp/adapters/nhooyr => ../adapters/nhooyr
	github.com/jstp-go/jstp/adapters/tcp => ../adapters/tcp
	github.com/jstp-go/jstp/conformance => ../conformance
	github.com/jstp-go/jstp/core => ../core
)

replace github.com/jstp-go/jstp/adapters/internal => ../adapters/internal
