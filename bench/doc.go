// Package bench holds jobsim's comparison benchmarks; it has no code of
// its own. Its tests measure one workload, N processes that each wait for
// a timer, then for a slot of a pool, hold it and give it back (see
// package baseline), three ways: on jobsim's kernel, as goroutines on
// github.com/benbjohnson/clock's mock clock, and as the same goroutines in
// a testing/synctest bubble.
//
// The kernel and the mock clock are ordinary benchmarks:
//
//	go test ./bench -run '^$' -bench . -benchmem
//
// synctest.Test needs the *testing.T of a running test, which a benchmark
// does not have, so the three are compared by a test that measures each
// with testing.Benchmark, timing every bubble from outside it, and logs
// the rates and their ratios. It runs only when asked:
//
//	go test ./bench -run TestBaselineRatios -baselines -v
package bench
