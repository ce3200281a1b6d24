package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/check"
	"github.com/jobsim/jobsim/fault"
)

// outcome is what a run leaves behind: its jobs' fate and the resources
// not given back.
type outcome struct {
	verdict   string   // "closed", "leaked" or "hung"
	resources []string // kinds of resource left behind: job, handle, socket
}

// observed reads the outcome of a report.
func observed(rep *Report) outcome {
	var o outcome
	o.verdict = "closed"
	for _, f := range rep.Findings {
		if f.Class == check.Hung {
			o.verdict = "hung"
		} else if o.verdict == "closed" {
			o.verdict = "leaked"
		}
	}
	if len(rep.Snapshot.Jobs) > 0 {
		o.resources = append(o.resources, "job")
	}
	if rep.Snapshot.Handles > 0 {
		o.resources = append(o.resources, "handle")
	}
	if rep.Snapshot.FDs.Sockets > 0 {
		o.resources = append(o.resources, "socket")
	}
	if rep.Faults != nil && rep.Faults.Cleared > 0 {
		o.resources = append(o.resources, "cleared job")
	}
	return o
}

// TestFaultTable runs each row of the fault table of docs/RULES.md (F1 to
// F15) under each design and checks what it leaves behind against the
// table: the module-level switch leaks in F1–F4 and F7–F13, the per-call
// switch closes its job everywhere but keeps the handle leak of F12, both
// hang in F5 and F6 when nothing heals, and the local design, which makes
// no solver-job, never leaks one.
func TestFaultTable(t *testing.T) {
	closed := outcome{verdict: "closed"}
	leakJob := outcome{"leaked", []string{"job"}}
	hung := outcome{"hung", []string{"job"}}
	hungHandle := outcome{"hung", []string{"job", "handle"}}
	cases := []struct {
		scenario, row          string
		module, perCall, local outcome
	}{
		{"solver-error", "F1", leakJob, closed, closed},
		{"scheduler-error", "F2", leakJob, closed, closed},
		{"scheduler-disconnect", "F3", leakJob, closed, closed},
		{"worker-lost", "F4", leakJob, closed, closed},
		{"scheduler-outage", "F5", hung, hung, closed},
		{"no-worker", "F5", hung, hung, closed},
		{"worker-hang", "F6", hungHandle, hungHandle, closed},
		{"cancel-analysis", "F7", leakJob, closed, closed},
		{"cancel-analysis-running", "F8", leakJob, closed, closed},
		{"auto-cancel", "F8", leakJob, closed, closed},
		{"cancel-dummy-waiting", "F9", leakJob, closed, closed},
		{"cancel-dummy-running", "F10", leakJob, closed, closed},
		{"emfile-create", "F11", closed, closed, closed},
		{"emfile-got-resource", "F12", outcome{"leaked", []string{"job", "handle"}}, outcome{"closed", []string{"handle"}}, closed},
		{"emfile-waiting", "F13", outcome{"leaked", []string{"job", "handle"}}, closed, closed},
		{"restart", "F14", outcome{"closed", []string{"cleared job"}}, closed, closed},
		{"viewers", "F15", outcome{"leaked", []string{"job", "socket"}}, closed, closed},
	}
	for _, c := range cases {
		for _, d := range []struct {
			design string
			want   outcome
		}{{"module", c.module}, {"per-call", c.perCall}, {"local", c.local}} {
			t.Run(c.row+"_"+c.scenario+"/"+d.design, func(t *testing.T) {
				rep, err := Run(Params{Scenario: c.scenario, Design: d.design, Seed: 1})
				require.NoError(t, err)
				got := observed(rep)
				assert.Equal(t, d.want, got, "simrun --scenario %s --design %s", c.scenario, d.design)
				assert.Equal(t, d.want.resources == nil, rep.Verdict.Holds, "invariant verdict")
			})
		}
	}
}

// TestFaultScenariosShowTheirCase checks details the table's verdicts do
// not: where the leaked job stands and what the logs say.
func TestFaultScenariosShowTheirCase(t *testing.T) {
	run := func(t *testing.T, scenario, design string) *Report {
		t.Helper()
		rep, err := Run(Params{Scenario: scenario, Design: design, Seed: 1})
		require.NoError(t, err)
		return rep
	}

	t.Run("F2_module_leaks_a_ready_job", func(t *testing.T) {
		rep := run(t, "scheduler-error", "module")
		require.Len(t, rep.Snapshot.Jobs, 1)
		assert.Equal(t, "ready", rep.Snapshot.Jobs[0].State.String())
	})
	t.Run("F9_cancel_on_the_dummy_fails_the_analysis", func(t *testing.T) {
		rep := run(t, "cancel-dummy-waiting", "module")
		require.Len(t, rep.Snapshot.Jobs, 1)
		assert.Contains(t, rep.Snapshot.Jobs[0].Log, "2026-06-02 15:03.13: Cancelling: Cancelled by user")
		assert.Equal(t, 1, rep.Analyses.Failed)
	})
	t.Run("F10_cancel_after_got_resource_does_not_cancel_the_solve", func(t *testing.T) {
		rep := run(t, "cancel-dummy-running", "per-call")
		assert.Equal(t, 1, rep.Analyses.Succeeded)
	})
	t.Run("F5_hang_waits_on_the_pool", func(t *testing.T) {
		rep := run(t, "no-worker", "per-call")
		var waits []string
		for _, f := range rep.Findings {
			waits = append(waits, f.WaitsOn)
			assert.Equal(t, "no-worker@0s", f.Cause)
		}
		assert.Contains(t, strings.Join(waits, "; "), "pool OCluster")
	})
	t.Run("F14_restart_clears_the_table", func(t *testing.T) {
		rep := run(t, "restart", "module")
		require.NotNil(t, rep.Faults)
		assert.Equal(t, 1, rep.Faults.Restarts)
		assert.Equal(t, 1, rep.Faults.Cleared, "the leaked solver-job is cleared, its log left on disk")
	})
}

// Common random numbers: the workload and the faults are drawn from their
// own streams, so every design sees the same arrivals, the same solve
// durations and the same faults at the same sites.
func TestCommonRandomNumbers(t *testing.T) {
	// Kinds at sites that both designs pass alike: the solves and the
	// jobs' starts. (A log write is a different pass in each design once
	// one of them drops the writes to closed jobs.)
	random, err := fault.ParseRandom("random:1:0.2:worker-lost,solver-exception,viewer")
	require.NoError(t, err)
	var firings [][]string
	for _, design := range []string{"module", "per-call"} {
		w := DefaultCIDay.Generate(7, 6*time.Hour)
		again := DefaultCIDay.Generate(7, 6*time.Hour)
		assert.Equal(t, w, again, "the workload depends on the seed alone")

		rep, err := Execute(Params{Scenario: "leak", Design: design, Seed: 7, Duration: 6 * time.Hour,
			Random: &fault.Random{Enable: random.Enable, Fire: random.Fire, Kinds: random.Kinds}}, w)
		require.NoError(t, err)
		var fired []string
		for _, f := range rep.Faults.Trace {
			fired = append(fired, fmt.Sprintf("%s@%s:%d", f.Fault.Kind, f.Fault.Site, f.Pass))
		}
		require.NotEmpty(t, fired, "some faults fire")
		firings = append(firings, fired)
	}
	assert.Equal(t, firings[0], firings[1], "both designs see the same faults at the same passes")
}

// A run with a random plan prints the explicit plan of what fired, and the
// explicit plan replays the run exactly.
func TestRandomPlanReplays(t *testing.T) {
	for _, design := range []string{"module", "per-call"} {
		t.Run(design, func(t *testing.T) {
			random, err := fault.ParseRandom("random:0.5:0.08")
			require.NoError(t, err)
			p := Params{Scenario: "leak", Design: design, Seed: 3, Duration: 12 * time.Hour, Random: random}
			first, err := Run(p)
			require.NoError(t, err)
			require.NotEmpty(t, first.Faults.Trace)

			replay := Params{Scenario: "leak", Design: design, Seed: 3, Duration: 12 * time.Hour, Faults: first.Faults.Replay}
			second, err := Run(replay)
			require.NoError(t, err)

			first.Params, second.Params = Params{}, Params{}
			assert.Equal(t, first, second, "replaying %q", first.Faults.Replay)
		})
	}
}
