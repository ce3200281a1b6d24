# jobsim's everyday targets. `make` runs the tests CI runs.
GO ?= go

.PHONY: test run vet bench golden soak

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
	$(GO) test ./... -update

# soak runs the property-based harness with many more cases than
# `go test` does (SOAK_CHECKS per property, 10000 unless told) and prints,
# for each property, how many cases it ran and how fast; on a failure it
# prints the whole output, with the command that replays the case.
SOAK_CHECKS ?= 10000
soak:
	@log=$$(mktemp); \
	$(GO) test ./property -count=1 -timeout 3h -v -rapid.checks=$(SOAK_CHECKS) >$$log 2>&1; status=$$?; \
	if [ $$status -eq 0 ]; then \
		grep -E '^(--- |ok)|cases|^ +(case|first found):' $$log; \
		grep -oE '[0-9]+ cases([ ,]|$$)' $$log | awk '{n += $$1} END {print "soak: " n " cases in all"}'; \
	else cat $$log; fi; \
	rm -f $$log; exit $$status
