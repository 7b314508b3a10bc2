module github.com/jstp-go/jstp/adapters/tcp

go 1.26

require github.com/jstp-go/jstp/core v0.0.0

replace github.com/jstp-go/jstp/core => ../../core

require github.com/jstp-go/jstp/conformance v0.0.0

replace github.com/jstp-go/jstp/conformance => ../../conformance

require go.uber.org/goleak v1.3.0

require github.com/Masterminds/semver/v3 v3.5.0 // indirect
