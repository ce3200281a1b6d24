# jobsim's everyday targets. `make` runs the tests CI runs.
GO ?= go

.PHONY: test run vet bench golden

test:
	$(GO) test ./...

run:
	$(GO) run ./cmd/simrun

vet:
	gofmt -l . | (! grep .) && $(GO) vet ./...

# bench runs every benchmark, then the comparison with the baselines
# (BENCHMARKS.md says how to read them).
bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem
	$(GO) test ./bench -run TestBaselineRatios -baselines -v

golden:
	$(GO) test ./cmd/simrun -run Golden -update
