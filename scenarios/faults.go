package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/jobsim/jobsim/model/ocamlci"
)

// solves analyses arrive one a minute from the first minute, each with
// one main solve of 30 s: the smallest workload that shows a fault's case.
func solves(analyses int) func(uint64, time.Duration) Workload {
	return func(uint64, time.Duration) Workload {
		w := make(Workload, analyses)
		for i := range w {
			w[i] = Arrival{At: time.Duration(i+1) * time.Minute, Analysis: ocamlci.Analysis{
				Repo: fmt.Sprintf("org/repo-%02d", i+1), Commit: "0fe2cb1",
				Solves: ocamlci.Solves(1, []time.Duration{30 * time.Second}, 12),
			}}
		}
		return w
	}
}

// faultScenarios shows each row of the fault table of docs/RULES.md with
// the smallest workload that triggers it. Where the fault must strike
// while a solve waits for a worker, the workers are away for the first ten
// minutes.
var faultScenarios = small([]Scenario{
	{Name: "solver-error", Summary: "F1: the solver raises during the solve",
		Faults: "solver-exception@solve"},
	{Name: "scheduler-error", Summary: "F2: the scheduler fails the ticket while a solve waits for a worker",
		Faults: "no-worker@0 for 10m; scheduler-error@5m"},
	{Name: "scheduler-disconnect", Summary: "F3: the scheduler connection drops while a solve waits; it is resubmitted",
		Faults: "no-worker@0 for 10m; scheduler-disconnect@5m for 1m"},
	{Name: "worker-lost", Summary: "F4: the worker running the solve disconnects",
		Faults: "worker-lost@solve"},
	{Name: "scheduler-outage", Summary: "F5: the scheduler is never reachable (no healing)",
		Faults: "scheduler-down@0", NoHeal: true},
	{Name: "no-worker", Summary: "F5: no worker ever takes the job (no healing)",
		Faults: "no-worker@0", NoHeal: true},
	{Name: "worker-hang", Summary: "F6: the worker hangs and never closes its log (no healing)",
		Faults: "worker-hang@solve", NoHeal: true},
	{Name: "cancel-analysis", Summary: "F7: the analysis is cancelled while its solve waits for a worker",
		Faults: "no-worker@0 for 10m; cancel-analysis@5m"},
	{Name: "cancel-analysis-running", Summary: "F8: the analysis is cancelled while its solve runs",
		Faults: "cancel-analysis@solve"},
	{Name: "auto-cancel", Summary: "F8: the engine auto-cancels the analysis while its solve runs",
		Faults: "auto-cancel@solve"},
	{Name: "cancel-dummy-waiting", Summary: "F9: cancel pressed on the solver-job's page while it waits",
		Faults: `no-worker@0 for 10m; cancel@waiting:"solver-job"`},
	{Name: "cancel-dummy-running", Summary: "F10: cancel pressed on the solver-job's page after it got its resource",
		Faults: `cancel@running:"solver-job"`},
	{Name: "emfile-create", Summary: "F11: out of descriptors when the solver-job is created",
		Faults: `emfile@job-create:"solver-job"`},
	{Name: "emfile-got-resource", Summary: `F12: out of descriptors writing "Got resource"`,
		Faults: `emfile@job-log:"Got resource"`},
	{Name: "emfile-waiting", Summary: `F13: out of descriptors writing "Waiting for resource"`,
		Faults: `emfile@job-log:"Waiting for resource"`},
	{Name: "restart", Summary: "F14: the OCurrent process restarts after a solve",
		Faults: "restart@5m"},
	{Name: "viewers", Summary: "F15: three clients stream the solver-job's log",
		Faults: strings.Repeat(`viewer@running:"solver-job"; `, 3)},
})

// small gives each scenario an hour of arrivals and the one-solve
// workload.
func small(list []Scenario) []Scenario {
	for i := range list {
		list[i].Duration = time.Hour
		list[i].Workload = solves(1)
	}
	return list
}
