module github.com/jstp-go/jstp/adapters/internal

go 1.26

require (
	github.com/jstp-go/jstp/conformance v0.0.0
	github.com/jstp-go/jstp/core v0.0.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)

replace (
	github.com/jstp-go/jstp/conformance => ../../conformance
	github.com/jstp-go/jstp/core => ../../core
)
