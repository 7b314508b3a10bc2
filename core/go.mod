module github.com/jstp-go/jstp/core

go 1.26

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)
