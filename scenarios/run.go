package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jobsim/jobsim/check"
	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/sim"
)

// Scenario is a named workload with its defaults.
type Scenario struct {
	Name     string
	Summary  string
	Duration time.Duration // how long arrivals go on unless told otherwise
	Workload func(seed uint64, duration time.Duration) Workload
	// Faults is the scenario's own fault plan, in the plan grammar. A run
	// given a plan of its own, explicit or random, uses that instead.
	Faults string
	// NoHeal leaves lasting faults in force through the drain, for the
	// scenarios that show a hang healing would end.
	NoHeal bool
}

var scenarios = append([]Scenario{
	{
		Name:     "leak",
		Summary:  "a realistic CI load: commits through the day plus opam-repository pushes that re-analyse every repository",
		Duration: 72 * time.Hour,
		Workload: DefaultCIDay.Generate,
	},
}, faultScenarios...)

// DesignInfo names a design of remote_solve.
type DesignInfo struct {
	Name    string
	Summary string
}

var designs = []DesignInfo{
	{"module", "ocaml-ci before the fix: solver-jobs on one module-level switch that is never turned off"},
	{"per-call", "the fix: a switch per solve, turned off in a finalize"},
	{"local", "the in-process solver: no placeholder job at all"},
}

// Scenarios returns every scenario, in the order simrun lists them.
func Scenarios() []Scenario { return append([]Scenario(nil), scenarios...) }

// Designs returns every design, in the order simrun lists them.
func Designs() []DesignInfo { return append([]DesignInfo(nil), designs...) }

// ErrUnknown is wrapped by the errors of Lookup and Run for a scenario or
// design name that does not exist.
var ErrUnknown = errors.New("unknown")

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, error) {
	var names []string
	for _, sc := range scenarios {
		if sc.Name == name {
			return sc, nil
		}
		names = append(names, sc.Name)
	}
	return Scenario{}, fmt.Errorf("%w scenario %q (valid: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

// CheckDesign returns an error if no design is called name.
func CheckDesign(name string) error {
	var names []string
	for _, d := range designs {
		if d.Name == name {
			return nil
		}
		names = append(names, d.Name)
	}
	return fmt.Errorf("%w design %q (valid: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

// System is the simulated deployment a run drives: one OCurrent process
// with ocaml-ci's backend, and an OCluster scheduler with solver workers.
type System struct {
	Proc    *model.Process
	Sched   *model.Scheduler
	Conn    *model.Connection
	Backend *ocamlci.Backend

	design   string
	stopped  []*model.Process // processes that restarts replaced
	analyses map[*model.Job]bool

	checks  ledger.Checks    // the checks of each process's ledger; none: no ledger
	ledgers []*ledger.Ledger // one per process, the current one last
	after   []func()         // what runs after every event, in order
}

// Solver workers of the deployment: two, of the default capacity (OC8).
const (
	SolverWorkers  = 2
	WorkerCapacity = 15
	solverPool     = "solver"
)

// NewSystem builds the deployment on s with the named design.
func NewSystem(s *sim.Sim, design string) (*System, error) {
	if err := CheckDesign(design); err != nil {
		return nil, err
	}
	p := model.NewProcess(s)
	sched := p.NewScheduler()
	for i := 1; i <= SolverWorkers; i++ {
		sched.Pool(solverPool).AddWorker(fmt.Sprintf("solver-%d", i), WorkerCapacity)
	}
	sys := &System{Sched: sched, design: design, analyses: map[*model.Job]bool{}}
	sys.boot(p)
	return sys, nil
}

// boot starts ocaml-ci in process p: it connects to the scheduler and
// loads the design's module.
func (sys *System) boot(p *model.Process) {
	sys.Proc = p
	if sys.checks != 0 {
		sys.keepBooks()
	}
	sys.Sched.Serve(p)
	sys.Conn = p.NewConnection(sys.Sched)
	var d ocamlci.Design
	switch sys.design {
	case "module":
		d = ocamlci.NewModuleLevel(p, sys.Conn)
	case "per-call":
		d = ocamlci.NewPerCall(p, sys.Conn)
	default:
		d = ocamlci.NewLocal(p)
	}
	sys.Backend = ocamlci.NewBackend(p, d)
}

// KeepLedger gives the process a ledger running checks, as it does each
// process a restart starts, and has the simulator check the current one
// after every event; LedgerViolations finishes it at the end. It must be
// called before the run starts.
func (sys *System) KeepLedger(checks ledger.Checks) {
	sys.checks = checks
	sys.keepBooks()
	sys.afterEvent(func() { sys.ledgers[len(sys.ledgers)-1].AfterEvent() })
}

// afterEvent adds fn to what the simulator calls after every event.
func (sys *System) afterEvent(fn func()) {
	sys.after = append(sys.after, fn)
	if len(sys.after) == 1 {
		sys.Proc.Sim.AfterEvent(fn)
		return
	}
	sys.Proc.Sim.AfterEvent(func() {
		for _, f := range sys.after {
			f()
		}
	})
}

// keepBooks gives the current process a ledger, retiring the last one:
// what a stopped process held went with it.
func (sys *System) keepBooks() {
	if n := len(sys.ledgers); n > 0 {
		sys.ledgers[n-1].Retire()
	}
	sys.ledgers = append(sys.ledgers, ledger.New(sys.Proc, sys.checks))
}

// LedgerViolations finishes the current process's ledger and returns the
// violations of every ledger the run kept, in the order seen.
func (sys *System) LedgerViolations() []ledger.Violation {
	if len(sys.ledgers) == 0 {
		return nil
	}
	sys.ledgers[len(sys.ledgers)-1].Finish()
	var out []ledger.Violation
	for _, l := range sys.ledgers {
		out = append(out, l.Violations()...)
	}
	return out
}

// Restart stops the OCurrent process and starts a new one with the same
// settings (F14). Analyses that arrive later go to the new process.
func (sys *System) Restart() {
	old := sys.Proc
	old.Stop()
	sys.stopped = append(sys.stopped, old)
	clear(sys.analyses)

	p := model.NewProcess(old.Sim)
	p.LogMode, p.FDs.Limit, p.FDs.Base, p.Disk = old.LogMode, old.FDs.Limit, old.FDs.Base, old.Disk
	p.Inject, p.OnPass, p.Observe = old.Inject, old.OnPass, old.Observe
	sys.boot(p)
}

// Restarts returns how many times the process restarted, and how many
// jobs those restarts cleared from the table without closing them.
func (sys *System) Restarts() (n, cleared int) {
	for _, p := range sys.stopped {
		cleared += p.Cleared()
	}
	return len(sys.stopped), cleared
}

// Analyses returns the analysis jobs still open, oldest first.
func (sys *System) Analyses() []*model.Job {
	var out []*model.Job
	for _, j := range sys.Proc.OpenJobs() {
		if sys.analyses[j] {
			out = append(out, j)
		}
	}
	return out
}

// target is the system as the fault injector sees it.
func (sys *System) target() fault.Target {
	return fault.Target{
		Proc: sys.Proc, Sched: sys.Sched, Conn: sys.Conn, Pool: solverPool,
		Analyses: sys.Analyses,
		Restart: func() fault.Target {
			sys.Restart()
			return sys.target()
		},
	}
}

// Params says what to run.
type Params struct {
	Scenario string
	Design   string
	Seed     uint64
	// Duration is how long new work arrives; zero means the scenario's
	// default.
	Duration time.Duration
	// Drain is how much virtual time outstanding work gets to finish once
	// arrivals stop; zero means DefaultDrain.
	Drain time.Duration
	// MaxEvents bounds the whole run; zero means DefaultMaxEvents.
	MaxEvents uint64
	// Epoch is the instant the run starts at; zero means sim.DefaultEpoch.
	Epoch time.Time
	// Faults is an explicit fault plan, fired during the arrivals.
	Faults fault.Plan
	// Random, if set, adds random faults (BUGGIFY) during the arrivals.
	Random *fault.Random
	// NoHeal leaves lasting faults in force through the drain.
	NoHeal bool
	// LogMode is how job logs hold descriptors.
	LogMode model.LogMode
	// Checks are the ledger's checks, run after every event and at the
	// end; none (the zero value) keeps no ledger, and costs nothing.
	Checks ledger.Checks
	// SampleEvery, if positive, samples the process's levels at every
	// multiple of it into Report.Samples; see Sample.
	SampleEvery time.Duration
	// Observe, if set, is told of every job's and switch's life events,
	// for a timeline of the run.
	Observe func(model.Event)
}

// Defaults for Params.
const (
	DefaultDrain     = 24 * time.Hour
	DefaultMaxEvents = 50_000_000
)

// Counts tallies the analyses of a run.
type Counts struct {
	Arrived    int
	Succeeded  int
	Failed     int
	Unfinished int
	// FirstFailure says which analysis failed first, when, and why.
	FirstFailure string
}

// Report is everything a run observed.
type Report struct {
	Params   Params // with defaults filled in
	Start    time.Time
	End      time.Time
	Events   uint64
	Solves   int // solves the workload asked for
	Drained  bool
	Analyses Counts
	Snapshot model.Snapshot
	Verdict  check.Verdict
	// Findings says, for each job left open, whether it leaked or hangs,
	// what it waits on and the fault that put it there.
	Findings []check.Finding
	// Faults is what the faults did; nil when the run had none.
	Faults *FaultReport
	// Died is the error that killed the simulated process, if one escaped
	// to the async exception hook; the run stopped there.
	Died string
	// Ledger is the violations of the ledger's checks, in the order
	// seen; nil when the run kept no ledger or it found nothing.
	Ledger []ledger.Violation
	// Latency is, for each analysis that finished (succeeded or failed),
	// the virtual time from its arrival to its result, in the order they
	// finished. Analyses that never finished have none.
	Latency []time.Duration
	// Samples are the levels sampled every Params.SampleEvery, oldest
	// first; nil unless it was set.
	Samples []Sample
}

// LatencyPercentile returns the q-th quantile (0 < q <= 1) of the
// analyses' latencies by the nearest-rank method, or zero if no analysis
// finished.
func (r *Report) LatencyPercentile(q float64) time.Duration {
	if len(r.Latency) == 0 {
		return 0
	}
	sorted := slices.Clone(r.Latency)
	slices.Sort(sorted)
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Holds reports whether the run kept the invariant and, if it kept a
// ledger, every check of the ledger.
func (r *Report) Holds() bool { return r.Verdict.Holds && len(r.Ledger) == 0 }

// FaultReport is what a run's faults did.
type FaultReport struct {
	// Trace is every firing, in order.
	Trace []fault.Firing
	// Replay is the explicit plan that fires exactly the same faults: run
	// with it, a random plan's run is replayed byte for byte.
	Replay   fault.Plan
	Coverage fault.Coverage
	// Restarts is how many times the process restarted; Cleared, how many
	// jobs those restarts removed from the table without closing them.
	Restarts int
	Cleared  int
}

// ErrBudget is wrapped by Run's error when the event budget is spent
// before the run ends.
var ErrBudget = errors.New("run exceeded its event budget")

// Run runs a scenario in two phases: the workload arrives for
// Params.Duration, then nothing new arrives and outstanding work drains
// for at most Params.Drain. The invariant is checked at the end.
func Run(p Params) (*Report, error) {
	sc, err := Lookup(p.Scenario)
	if err != nil {
		return nil, err
	}
	if p.Duration == 0 {
		p.Duration = sc.Duration
	}
	if p.Duration < 0 {
		return nil, fmt.Errorf("scenarios: duration must be positive, got %v", p.Duration)
	}
	if sc.Faults != "" && p.Faults == nil && p.Random == nil {
		own, err := fault.Parse(sc.Faults)
		if err != nil {
			panic("scenarios: scenario " + sc.Name + " has a malformed plan: " + err.Error())
		}
		p.Faults = own
	}
	p.NoHeal = p.NoHeal || sc.NoHeal
	return Execute(p, sc.Workload(p.Seed, p.Duration))
}

// Execute runs the given workload as Run runs a scenario's. Params.Scenario
// only names the run in its report.
func Execute(p Params, work Workload) (*Report, error) {
	if p.Drain == 0 {
		p.Drain = DefaultDrain
	}
	if p.MaxEvents == 0 {
		p.MaxEvents = DefaultMaxEvents
	}
	if p.Duration < 0 || p.Drain < 0 {
		return nil, fmt.Errorf("scenarios: durations must be positive, got %v and drain %v", p.Duration, p.Drain)
	}

	s := sim.New(sim.Config{Seed: p.Seed, Epoch: p.Epoch})
	sys, err := NewSystem(s, p.Design)
	if err != nil {
		return nil, err
	}
	sys.Proc.LogMode = p.LogMode
	sys.Proc.Observe = p.Observe
	if p.Checks != 0 {
		sys.KeepLedger(p.Checks)
	}
	rep := &Report{Params: p, Start: s.Now(), Solves: work.Solves()}
	sys.start(work, rep)
	var smp *sampler
	if p.SampleEvery > 0 {
		smp = sys.sample(p.SampleEvery)
	}
	var inj *fault.Injector
	if p.Faults != nil || p.Random != nil {
		inj = fault.New(s, p.Faults, p.Random)
		inj.Until = p.Duration
		inj.Attach(sys.target())
	}

	// Phase one: arrivals, and faults. Phase two: everything heals, no
	// fault fires, and outstanding work drains.
	out := s.Run(sim.Budget{Until: p.Duration, MaxEvents: p.MaxEvents})
	if out.Reason != sim.EventBudget && out.Reason != sim.Fatal {
		if inj != nil && !p.NoHeal {
			inj.Heal()
		}
		events := out.Events
		out = s.Run(sim.Budget{Until: p.Duration + p.Drain, MaxEvents: p.MaxEvents - events})
		out.Events += events
	}
	rep.Events = out.Events
	rep.End = s.Now()
	if smp != nil {
		rep.Samples = smp.finish()
	}
	if out.Reason == sim.EventBudget {
		return nil, fmt.Errorf("%w: %v (raise --max-events, or shorten --duration)", ErrBudget, out.Err)
	}
	rep.Drained = out.Reason == sim.Idle
	if out.Reason == sim.Fatal {
		// An error escaped Lwt.async: the real process prints it and
		// exits (LW5). The run ends there, and what it left is reported.
		rep.Died = out.Err.Error()
	}
	sys.Proc.Collect()
	rep.Snapshot = sys.Proc.Snapshot()
	rep.Verdict = check.Invariant(rep.Snapshot)
	if rep.Died != "" {
		rep.Verdict.Holds = false
		rep.Verdict.Violations = append([]check.Violation{{Job: "process", Reason: "the process died: " + rep.Died}},
			rep.Verdict.Violations...)
	}
	if n, cleared := sys.Restarts(); n > 0 && cleared > 0 {
		rep.Verdict.Holds = false
		rep.Verdict.Violations = append(rep.Verdict.Violations, check.Violation{Job: "process", Reason: fmt.Sprintf(
			"%s cleared from the table by restarts without being closed; their log files stay on disk",
			jobsCount(cleared))})
	}
	rep.Ledger = sys.LedgerViolations()

	var trace []fault.Firing
	if inj != nil {
		trace = inj.Trace()
		rep.Faults = &FaultReport{Trace: trace, Replay: inj.Explicit(), Coverage: inj.Coverage()}
		rep.Faults.Restarts, rep.Faults.Cleared = sys.Restarts()
	}
	var cause func(job, owner string) string // no fault fired: no cause
	if len(trace) > 0 {
		cause = newCauses(trace).of
	}
	rep.Findings = check.Classify(rep.Snapshot, cause)
	return rep, nil
}

// causes names the fault behind a job left open: the last fault that
// fired at a site concerning the job or its owner, or else the last fault
// that fired at all. It reads the trace once, so that naming a job's cause
// takes two lookups, not a scan of the trace, and writes each firing's
// fault once, however many jobs it is the cause of.
type causes struct {
	trace []fault.Firing
	last  map[string]int // for each job a firing concerns, its last firing
	names []string       // each firing's fault in the plan grammar, once written
}

// newCauses indexes a trace of at least one firing.
func newCauses(trace []fault.Firing) *causes {
	c := &causes{trace: trace, last: map[string]int{}, names: make([]string, len(trace))}
	for i, f := range trace {
		if f.Job != "" {
			c.last[f.Job] = i
		}
	}
	return c
}

// of names the fault behind the job with id job, whose owner's id is
// owner ("" for none).
func (c *causes) of(job, owner string) string {
	i, ok := c.last[job]
	if k, found := c.last[owner]; found && (!ok || k > i) {
		i, ok = k, true
	}
	if !ok {
		i = len(c.trace) - 1
	}
	if c.names[i] == "" {
		c.names[i] = c.trace[i].Fault.String()
	}
	return c.names[i]
}

// start schedules every arrival, tallying outcomes and latencies into
// rep.
func (sys *System) start(work Workload, rep *Report) {
	s := sys.Proc.Sim
	c := &rep.Analyses
	c.Arrived = len(work)
	c.Unfinished = len(work)
	for _, a := range work {
		s.At(a.At, func() {
			run := sys.Backend.Start(a.Analysis)
			if run.Job != nil {
				sys.analyses[run.Job] = true
			}
			sim.On(run.Result, func(r model.Result[string], err error) {
				delete(sys.analyses, run.Job)
				c.Unfinished--
				rep.Latency = append(rep.Latency, s.Elapsed()-a.At)
				if err != nil || r.Err != nil {
					if c.Failed == 0 {
						why := err
						if why == nil {
							why = r.Err
						}
						what := "its analysis job failed"
						if run.Job == nil {
							what = "its analysis job could not be created"
						}
						c.FirstFailure = fmt.Sprintf("%s at +%s: %s: %v",
							a.Analysis.Repo, fault.FormatDuration(s.Elapsed()), what, why)
					}
					c.Failed++
					return
				}
				c.Succeeded++
			})
		})
	}
}

// jobsCount writes n jobs, in the singular for one.
func jobsCount(n int) string {
	if n == 1 {
		return "1 job"
	}
	return fmt.Sprintf("%d jobs", n)
}
