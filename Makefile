.DEFAULT_GOAL := help
GO ?= go

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## build: build the roster binary into bin/
build:
	$(GO) build -o bin/roster ./cmd/roster

## run: run roster serve on roster.db
run:
	$(GO) run ./cmd/roster serve

## test: run every test (PostgreSQL tests run when ROSTER_TEST_PG_DSN is set)
test:
	$(GO) test ./...

## test/race: run every test with the race detector
test/race:
	$(GO) test -race ./...

## bench: run the Go benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: gofmt, go vet and staticcheck
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## tidy: go mod tidy
tidy:
	$(GO) mod tidy

.PHONY: help build run test test/race bench lint tidy
