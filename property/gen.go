package property

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/scenarios"
)

// Window is how long a generated case's work arrives and its faults may
// fire; then everything heals and the work drains.
const Window = 2 * time.Hour

// Generated workloads draw from these ranges; every draw shrinks towards
// its lower end, so a failing workload shrinks towards one analysis with
// one short solve arriving at once.
const (
	MaxMoments  = 6  // instants at which analyses arrive
	MaxBurst    = 4  // analyses arriving at one instant, as after an opam-repository push
	MaxSolves   = 3  // solves per analysis (CI2), lint and fmt before main
	MaxLocks    = 2  // lock-file solves run concurrently instead of main
	MaxSolveSec = 60 // a solve's duration, in seconds
	platforms   = 3  // platforms every solve covers
	commit      = "0fe2cb1"
)

// Workload generates workloads: analyses arriving at random instants of
// the Window, in bursts, each with its solves and their durations.
func Workload() *rapid.Generator[scenarios.Workload] {
	return rapid.Custom(drawWorkload)
}

// moment is the analyses that arrive at one instant.
type moment struct {
	at       time.Duration
	analyses []ocamlci.Analysis
}

// moments draws the instants of a workload, each with its burst. Drawn
// as slices, they shrink by dropping whole moments and analyses.
var moments = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) moment {
	return moment{
		at:       time.Duration(rapid.IntRange(0, int(Window/time.Second)-1).Draw(t, "at_seconds")) * time.Second,
		analyses: rapid.SliceOfN(rapid.Custom(drawAnalysis), 1, MaxBurst).Draw(t, "burst"),
	}
}), 1, MaxMoments)

func drawWorkload(t *rapid.T) scenarios.Workload {
	var w scenarios.Workload
	for _, m := range moments.Draw(t, "moments") {
		for _, a := range m.analyses {
			a.Repo = fmt.Sprintf("org/repo-%02d", len(w)+1)
			w = append(w, scenarios.Arrival{At: m.at, Analysis: a})
		}
	}
	slices.SortStableFunc(w, func(a, b scenarios.Arrival) int { return cmp.Compare(a.At, b.At) })
	return w
}

// drawAnalysis draws the solves of an analysis; its repository is named
// once the workload is drawn.
func drawAnalysis(t *rapid.T) ocamlci.Analysis {
	seconds := func(label string) time.Duration {
		return time.Duration(rapid.IntRange(1, MaxSolveSec).Draw(t, label)) * time.Second
	}
	count := rapid.IntRange(1, MaxSolves).Draw(t, "solves")
	ds := make([]time.Duration, count)
	for i := range ds {
		ds[i] = seconds("solve_seconds")
	}
	solves := ocamlci.Solves(count, ds, platforms)
	if locks := rapid.IntRange(0, MaxLocks).Draw(t, "lock_files"); locks > 0 {
		ls := make([]time.Duration, locks)
		for i := range ls {
			ls[i] = seconds("lock_seconds")
		}
		solves = ocamlci.WithLockFiles(solves, ls)
	}
	return ocamlci.Analysis{Commit: commit, Solves: solves}
}

// Trigger is where a generated fault may fire: at a site, counting the
// passes whose detail contains Match, or at a time if Site is empty.
type Trigger struct {
	Site  string
	Match string
}

// Action is a kind of fault and the triggers a generated one may have.
type Action struct {
	Kind     string
	Triggers []Trigger
}

// FaultModel is the faults a property draws from: which kinds, where,
// and how many at most in one case. Every fault is drawn as one action
// (kind, trigger, pass number or time, duration), so rapid shrinks the
// plan as it shrinks the workload: to fewer faults, earlier kinds and
// triggers in the model's order, first passes, earlier times, and lasting
// faults that last until the healing.
type FaultModel struct {
	Name    string
	Actions []Action
	Max     int
}

// Generated faults draw from these ranges.
const (
	MaxNth        = 5  // the pass of its site a fault fires at
	MaxForMinutes = 90 // how long a lasting fault lasts; 0 is until healed
)

// Plan generates fault plans of the model.
func (m FaultModel) Plan() *rapid.Generator[fault.Plan] {
	return rapid.Custom(func(t *rapid.T) fault.Plan { return m.draw(t) })
}

func (m FaultModel) draw(t *rapid.T) fault.Plan {
	if len(m.Actions) == 0 || m.Max == 0 {
		return nil
	}
	faults := rapid.SliceOfN(rapid.Custom(m.drawFault), 0, m.Max).Draw(t, "faults")
	if len(faults) == 0 {
		return nil
	}
	return fault.Plan(faults)
}

// drawFault draws one fault: an action of the model, one of its
// triggers, and the pass, time and duration that go with them.
func (m FaultModel) drawFault(t *rapid.T) fault.Fault {
	a := rapid.SampledFrom(m.Actions).Draw(t, "kind")
	tr := rapid.SampledFrom(a.Triggers).Draw(t, "trigger")
	f := fault.Fault{Kind: a.Kind, Site: tr.Site, Match: tr.Match, Nth: 1, Times: 1}
	if tr.Site == "" {
		f.At = time.Duration(rapid.IntRange(0, int(Window/time.Second)-1).Draw(t, "fault_at_seconds")) * time.Second
	} else {
		f.Nth = rapid.IntRange(1, MaxNth).Draw(t, "nth")
	}
	if lasting(a.Kind) {
		f.For = time.Duration(rapid.IntRange(0, MaxForMinutes).Draw(t, "for_minutes")) * time.Minute
	}
	return f
}

func lasting(kind string) bool {
	for _, k := range fault.Kinds() {
		if k.Name == kind {
			return k.Lasting
		}
	}
	return false
}

// jobMatches are the texts a fault at a job site matches: any job, the
// solver-job, the analysis.
var jobMatches = []string{"", "solver-job", "ci-analyse"}

// actions returns an action for each kind named, with every trigger the
// kind allows: a time first, if it fires at times, then its sites, job
// sites with each of jobMatches and the log with each of logMatches.
func actions(logMatches []string, kinds ...string) []Action {
	var out []Action
	for _, name := range kinds {
		k := kindNamed(name)
		a := Action{Kind: name}
		if k.AtTime {
			a.Triggers = append(a.Triggers, Trigger{})
		}
		for _, site := range k.Sites {
			matches := []string{""}
			switch site {
			case fault.SiteReadyToRun, fault.SiteWaiting, fault.SiteRunning, fault.SiteJobCreate:
				matches = jobMatches
			case fault.SiteJobLog:
				matches = logMatches
			}
			for _, m := range matches {
				a.Triggers = append(a.Triggers, Trigger{Site: site, Match: m})
			}
		}
		out = append(out, a)
	}
	return out
}

func kindNamed(name string) fault.Kind {
	for _, k := range fault.Kinds() {
		if k.Name == name {
			return k
		}
	}
	panic("property: no fault kind " + name)
}

// Fault models of the properties.
var (
	// Survivable is every fault the per-call design is meant to survive
	// once healed: the rows F1 to F4 and F7 to F10 of the fault table of
	// docs/RULES.md, and the hangs of F5 and F6, which healing ends.
	Survivable = FaultModel{Name: "F1-F10 healed", Max: 4, Actions: actions(nil,
		"solver-exception", "scheduler-error", "scheduler-disconnect", "worker-lost",
		"cancel-analysis", "auto-cancel", "cancel",
		"scheduler-down", "no-worker", "worker-hang",
	)}

	// SolverJobDescriptors is the rows F11 to F13: out of descriptors,
	// or of disk, when the solver-job is created or written to.
	SolverJobDescriptors = FaultModel{Name: "F11-F13", Max: 2, Actions: []Action{
		{Kind: "emfile", Triggers: solverJobWrites},
		{Kind: "enospc", Triggers: solverJobWrites},
	}}

	// Everything is every kind of fault but a restart, at every site,
	// the descriptor faults at any log line: what the local design, which
	// makes no solver-job, must survive.
	Everything = FaultModel{Name: "every fault but restart", Max: 4, Actions: actions(
		[]string{"", "Waiting for resource", "Got resource", "Waiting for worker", "Solving with"},
		"solver-exception", "scheduler-error", "scheduler-disconnect", "worker-lost",
		"cancel-analysis", "auto-cancel", "cancel",
		"scheduler-down", "no-worker", "worker-hang",
		"emfile", "enospc", "viewer",
	)}
)

// solverJobWrites are the solver-job's creation and its two log lines.
var solverJobWrites = []Trigger{
	{Site: fault.SiteJobCreate, Match: "solver-job"},
	{Site: fault.SiteJobLog, Match: "Waiting for resource"},
	{Site: fault.SiteJobLog, Match: "Got resource"},
}

// Case is one generated case: a workload, its fault plan and the way its
// logs hold descriptors.
type Case struct {
	Workload scenarios.Workload
	Faults   fault.Plan
	LogMode  model.LogMode
}

// drawCase draws a case with faults of m and logs in one of modes, both
// if modes is empty.
func drawCase(t *rapid.T, m FaultModel, modes []model.LogMode) Case {
	c := Case{Workload: drawWorkload(t), Faults: m.draw(t)}
	if len(modes) == 0 {
		modes = []model.LogMode{model.Transient, model.Held}
	}
	c.LogMode = rapid.SampledFrom(modes).Draw(t, "log_mode")
	return c
}
