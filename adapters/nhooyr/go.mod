module github.com/jstp-go/jstp/adapters/nhooyr

go 1.26

require github.com/jstp-go/jstp/core v0.0.0

replace github.com/jstp-go/jstp/core => ../../core

require github.com/jstp-go/jstp/conformance v0.0.0

require (
	github.com/coder/websocket v1.8.15
	go.uber.org/goleak v1.3.0
)

require github.com/Masterminds/semver/v3 v3.5.0 // indirect

replace github.com/jstp-go/jstp/conformance => ../../conformance

require github.com/jstp-go/jstp/adapters/internal v0.0.0

replace github.com/jstp-go/jstp/adapters/internal => ../internal
