module github.com/jstp-go/jstp/adapters/gobwas

go 1.26

require github.com/jstp-go/jstp/core v0.0.0

replace github.com/jstp-go/jstp/core => ../../core

require (
	github.com/gobwas/ws v1.5.0
	github.com/jstp-go/jstp/conformance v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
)

replace github.com/jstp-go/jstp/conformance => ../../conformance

require github.com/jstp-go/jstp/adapters/internal v0.0.0

replace github.com/jstp-go/jstp/adapters/internal => ../internal
