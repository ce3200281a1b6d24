package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jobsim/jobsim/check"
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
}

// DesignInfo names a design of remote_solve.
type DesignInfo struct {
	Name    string
	Summary string
}

var scenarios = []Scenario{
	{
		Name:     "leak",
		Summary:  "a realistic CI load: commits through the day plus opam-repository pushes that re-analyse every repository",
		Duration: 72 * time.Hour,
		Workload: DefaultCIDay.Generate,
	},
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
var ErrUnknown = errors.New("unknown name")

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, error) {
	var names []string
	for _, sc := range scenarios {
		if sc.Name == name {
			return sc, nil
		}
		names = append(names, sc.Name)
	}
	return Scenario{}, fmt.Errorf("%w: scenario %q (valid: %s)", ErrUnknown, name, strings.Join(names, ", "))
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
	return fmt.Errorf("%w: design %q (valid: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

// System is the simulated deployment a run drives: one OCurrent process
// with ocaml-ci's backend, and an OCluster scheduler with solver workers.
type System struct {
	Proc    *model.Process
	Sched   *model.Scheduler
	Conn    *model.Connection
	Backend *ocamlci.Backend
}

// Solver workers of the deployment: two, of the default capacity (OC8).
const (
	SolverWorkers  = 2
	WorkerCapacity = 15
)

// NewSystem builds the deployment on s with the named design.
func NewSystem(s *sim.Sim, design string) (*System, error) {
	if err := CheckDesign(design); err != nil {
		return nil, err
	}
	p := model.NewProcess(s)
	sched := p.NewScheduler()
	for i := 1; i <= SolverWorkers; i++ {
		sched.Pool("solver").AddWorker(fmt.Sprintf("solver-%d", i), WorkerCapacity)
	}
	conn := p.NewConnection(sched)

	var d ocamlci.Design
	switch design {
	case "module":
		d = ocamlci.NewModuleLevel(p, conn)
	case "per-call":
		d = ocamlci.NewPerCall(p, conn)
	default:
		d = ocamlci.NewLocal(p)
	}
	return &System{Proc: p, Sched: sched, Conn: conn, Backend: ocamlci.NewBackend(p, d)}, nil
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
	rep := &Report{Params: p, Start: s.Now(), Solves: work.Solves()}
	sys.start(work, &rep.Analyses)

	// Phase one: arrivals. Phase two: drain.
	out := s.Run(sim.Budget{Until: p.Duration, MaxEvents: p.MaxEvents})
	if out.Reason != sim.EventBudget && out.Reason != sim.Fatal {
		events := out.Events
		out = s.Run(sim.Budget{Until: p.Duration + p.Drain, MaxEvents: p.MaxEvents - events})
		out.Events += events
	}
	rep.Events = out.Events
	rep.End = s.Now()
	switch out.Reason {
	case sim.EventBudget:
		return nil, fmt.Errorf("%w: %v (raise --max-events, or shorten --duration)", ErrBudget, out.Err)
	case sim.Fatal:
		return nil, fmt.Errorf("scenarios: the simulated process died: %v", out.Err)
	}
	rep.Drained = out.Reason == sim.Idle
	sys.Proc.Collect()
	rep.Snapshot = sys.Proc.Snapshot()
	rep.Verdict = check.Jobs(rep.Snapshot)
	return rep, nil
}

// start schedules every arrival, tallying outcomes into c.
func (sys *System) start(work Workload, c *Counts) {
	s := sys.Proc.Sim
	c.Arrived = len(work)
	c.Unfinished = len(work)
	for _, a := range work {
		s.At(a.At, func() {
			sim.On(sys.Backend.Analyse(a.Analysis), func(r model.Result[string], err error) {
				c.Unfinished--
				if err != nil || r.Err != nil {
					c.Failed++
					return
				}
				c.Succeeded++
			})
		})
	}
}
