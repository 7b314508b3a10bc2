# jstp-go: the commands people type. Every Go module of the workspace is
# listed here; `go test ./...` cannot run at a workspace root that is not a
# module itself, so each target visits the modules one by one.

GO      ?= go
MODULES := core conformance adapters/internal adapters/gorilla adapters/gobwas adapters/nhooyr adapters/tcp interop bench example
TESTFLAGS ?= -race -count=1 -timeout 15m
FUZZTIME ?= 10s

.PHONY: all run test vet standalone fuzz bench deps

all: test

## run: serve the example application over every transport, print a client round trip, keep serving until Ctrl-C
run:
	$(GO) build -o bin/jstp-example ./example/cmd/jstp-example
	./bin/jstp-example

## test: every module's tests with the race detector (and mdsf once more without its assembly)
test:
	@failed=""; for m in $(MODULES); do \
		echo "=== $$m"; \
		(cd $$m && $(GO) test $(TESTFLAGS) ./...) || failed="$$failed $$m"; \
	done; \
	echo "=== core/mdsf without its assembly (-tags purego)"; \
	(cd core && $(GO) test $(TESTFLAGS) -tags purego ./mdsf) || failed="$$failed core/mdsf(purego)"; \
	if [ -n "$$failed" ]; then echo "FAILED modules:$$failed"; exit 1; fi; \
	echo "all modules passed"

## vet: go vet over every module
vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

## standalone: every module builds on its own, without go.work (as users get it)
standalone:
	@for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...) || exit 1; done

## fuzz: a short run of each fuzz target (the codec, the engine's message reader); FUZZTIME is a duration (10s) or a count of executions (50000x, what CI uses: see .ci/run)
fuzz:
	cd core && $(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./mdsf
	cd core && $(GO) test -run '^$$' -fuzz '^FuzzSplitter$$' -fuzztime $(FUZZTIME) ./mdsf
	cd core && $(GO) test -run '^$$' -fuzz '^FuzzScanners$$' -fuzztime $(FUZZTIME) ./mdsf
	cd core && $(GO) test -run '^$$' -fuzz '^FuzzLargeInputMode$$' -fuzztime $(FUZZTIME) ./mdsf
	cd core && $(GO) test -run '^$$' -fuzz '^FuzzFastParse$$' -fuzztime $(FUZZTIME) .

## bench: the full side-by-side benchmark (not part of CI)
bench:
	$(GO) run ./bench/cmd/jstpbench

## deps: what the tests need beyond Go modules (the reference npm package)
deps:
	npm ci --ignore-scripts --prefix interop
