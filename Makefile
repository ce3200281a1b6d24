# jobsim's everyday targets. `make` runs the tests CI runs.
GO ?= go

.PHONY: test run vet bench golden

test:
	$(GO) test ./...

run:
	$(GO) run ./cmd/simrun

vet:
	gofmt -l . | (! grep .) && $(GO) vet ./...

bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem

golden:
	$(GO) test ./cmd/simrun -run Golden -update
