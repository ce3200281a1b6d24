package bench_test

import (
	"flag"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/jobsim/jobsim/bench/baseline"
)

var baselines = flag.Bool("baselines", false,
	"run TestBaselineRatios, which takes a few seconds of benchmarking")

// The workload every implementation runs: small, because the mock clock
// sleeps a millisecond of real time for each timer it fires.
const (
	procs = 100
	slots = 10
)

func workload() baseline.Workload { return baseline.NewWorkload(1, procs, slots) }

// reportRates reports the processes, and the waits, run per second of
// wall time.
func reportRates(b *testing.B, w baseline.Workload) {
	b.Helper()
	runs := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(runs*float64(len(w.Procs)), "procs/s")
	b.ReportMetric(runs*float64(w.Events()), "events/s")
}

// benchJobsim runs the workload on jobsim's kernel with run: Jobsim,
// written with promises, or JobsimEvents, with the event API.
func benchJobsim(run func(baseline.Workload) baseline.Result) func(*testing.B) {
	return func(b *testing.B) {
		w := workload()
		b.ReportAllocs()
		for b.Loop() {
			run(w)
		}
		reportRates(b, w)
	}
}

// benchMock runs the workload as goroutines on a clock.Mock, and reports
// the share of runs that did not finish as jobsim's did.
func benchMock(b *testing.B) {
	w := workload()
	want := baseline.Jobsim(w)
	late := 0
	b.ReportAllocs()
	for b.Loop() {
		if !baseline.RunMock(w).Equal(want) {
			late++
		}
	}
	reportRates(b, w)
	b.ReportMetric(float64(late)/float64(b.N), "inexact-runs/run")
}

// benchSynctest runs the workload as goroutines in one synctest bubble per
// run. t is the test the bubbles belong to; the timer runs outside them.
func benchSynctest(t *testing.T) func(*testing.B) {
	return func(b *testing.B) {
		w := workload()
		b.ReportAllocs()
		for b.Loop() {
			synctest.Test(t, func(*testing.T) {
				<-baseline.Start(baseline.Std{}, w).Done
			})
		}
		reportRates(b, w)
	}
}

func BenchmarkBaseline(b *testing.B) {
	b.Run("impl=jobsim", benchJobsim(baseline.Jobsim))
	b.Run("impl=jobsim-events", benchJobsim(baseline.JobsimEvents))
	b.Run("impl=clock-mock", benchMock)
}

// TestBaselineRatios measures the implementations one after another in
// one process and logs how many times faster jobsim runs the workload
// than each of the others, with the targets of BENCHMARKS.md: jobsim
// written with promises, as the model's analyses are, and jobsim written
// with the kernel's event API, as the model's hottest paths are.
func TestBaselineRatios(t *testing.T) {
	if !*baselines {
		t.Skip("benchmarks the baselines for a few seconds: run with -baselines")
	}
	w := workload()
	var inBubble baseline.Result
	synctest.Test(t, func(*testing.T) {
		run := baseline.Start(baseline.Std{}, w)
		<-run.Done
		inBubble = run.Result
	})
	if want := baseline.Jobsim(w); !inBubble.Equal(want) {
		t.Fatalf("synctest run = %v, want jobsim's %v", inBubble, want)
	}

	if got, want := baseline.JobsimEvents(w), baseline.Jobsim(w); !got.Equal(want) {
		t.Fatalf("JobsimEvents run = %v, want Jobsim's %v", got, want)
	}

	kernel := testing.Benchmark(benchJobsim(baseline.Jobsim))
	events := testing.Benchmark(benchJobsim(baseline.JobsimEvents))
	bubble := testing.Benchmark(benchSynctest(t))
	mock := testing.Benchmark(benchMock)
	for _, r := range []struct {
		name string
		res  testing.BenchmarkResult
	}{{"jobsim", kernel}, {"jobsim-events", events}, {"synctest", bubble}, {"clock-mock", mock}} {
		if r.res.N == 0 {
			t.Fatalf("benchmark of %s failed", r.name)
		}
		t.Logf("%-13s %s %s", r.name, r.res.String(), r.res.MemString())
	}

	ratio := func(jobsim string, ours testing.BenchmarkResult, name string, other testing.BenchmarkResult, target float64) {
		x := other.Extra["procs/s"]
		got := ours.Extra["procs/s"] / x
		verdict := "met"
		if got < target {
			verdict = "missed"
		}
		t.Logf("%s/%s = %.0f / %.0f procs/s = %s (target ≥%g×: %s)",
			jobsim, name, ours.Extra["procs/s"], x, times(got), target, verdict)
	}
	ratio("jobsim", kernel, "synctest", bubble, 5)
	ratio("jobsim", kernel, "clock-mock", mock, 1000)
	ratio("jobsim-events", events, "synctest", bubble, 5)
	ratio("jobsim-events", events, "clock-mock", mock, 1000)
}

// times formats a ratio with three significant figures.
func times(r float64) string { return fmt.Sprintf("%.3g×", r) }
