package fault

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// Errors the injected faults fail with, where the real system's text is
// not already the model's.
var (
	// ErrScheduler is what the scheduler answers a waiting ticket with
	// under scheduler-error.
	ErrScheduler = errors.New("Internal error: scheduler failed the ticket")
	// ErrSolverCrashed is the exception a solve raises under
	// solver-exception.
	ErrSolverCrashed = errors.New(`Failure("solver crashed")`)
)

// Defaults for faults given no 'for'.
const (
	// DisconnectFor is how long a scheduler-disconnect lasts.
	DisconnectFor = 30 * time.Second
	// WorkerRestart is how long a lost worker takes to come back.
	WorkerRestart = time.Minute
)

// Reasons of the cancels a fault makes (JB14).
const (
	ReasonUser       = "Cancelled by user"
	ReasonAutoCancel = "Auto-cancelling job because it is no longer needed"
)

// Target is the running system an Injector acts on.
type Target struct {
	Proc  *model.Process
	Sched *model.Scheduler
	Conn  *model.Connection
	// Pool is the scheduler pool of the solver workers.
	Pool string
	// Analyses returns the analysis jobs that are open now, for faults
	// that cancel analyses at a time.
	Analyses func() []*model.Job
	// Restart restarts the OCurrent process and returns the system as it
	// is after the restart.
	Restart func() Target
}

// Firing is one fault firing, as the trace records it.
type Firing struct {
	At     time.Duration // elapsed virtual time
	Step   uint64        // the event that was running
	Fault  Fault         // the fault, as the replay plan writes it
	Pass   int           // which pass of its site it fired at, counting all
	Detail string        // the site's detail, if it fired at a site
	Job    string        // the id of the job the site concerned, if any
}

// Injector fires a plan's faults into a run.
type Injector struct {
	// Until is when the fault phase ends: a fault at a later time is never
	// scheduled, so that it changes nothing in the run, not even its
	// count of events. Zero means no end. Set it before Attach.
	Until time.Duration

	s      *sim.Sim
	plan   Plan
	random *Random
	t      Target

	passes  map[model.Site]int // passes per site, for coverage and replay
	matched []int              // per fault of the plan: matching passes
	fired   []int              // per fault of the plan: times fired
	trace   []Firing
	healed  bool

	// kept is the pass Inject counted, which OnPass may be told of next.
	kept *keptPass

	// ends are the lasting faults still in force, ended by Heal.
	ends []func()
}

// New returns an injector of plan, and of random faults too if random is
// not nil, for a run on s.
func New(s *sim.Sim, plan Plan, random *Random) *Injector {
	return &Injector{
		s: s, plan: plan, random: random,
		passes:  map[model.Site]int{},
		matched: make([]int, len(plan)),
		fired:   make([]int, len(plan)),
	}
}

// Attach hooks the injector into t's process and schedules the plan's
// time triggers.
func (in *Injector) Attach(t Target) {
	in.t = t
	in.hook(t.Proc)
	if in.random != nil {
		in.random.enable(in.s)
	}
	for i, f := range in.plan {
		if f.Site == "" && (in.Until == 0 || f.At < in.Until) {
			in.s.At(f.At, func() {
				if !in.healed {
					in.fired[i]++
					in.fire(f, 0, "", nil)
				}
			})
		}
	}
}

// hook makes p ask the injector at its sites.
func (in *Injector) hook(p *model.Process) {
	p.Inject = in.inject
	p.OnPass = in.onPass
}

// Heal ends the fault phase: no fault fires any more, and every lasting
// fault ends now (the scheduler reconnects, workers come back and thaw).
func (in *Injector) Heal() {
	in.healed = true
	ends := in.ends
	in.ends = nil
	for _, end := range ends {
		end()
	}
}

// errorKinds fire through Inject, failing the pass itself.
var errorKinds = map[string]bool{
	"emfile": true, "enospc": true, "scheduler-error": true, "solver-exception": true,
}

// passKey names a pass through a site.
type passKey struct {
	site   model.Site
	detail string
}

// inject is the process's Inject hook. At the sites where the model asks
// Inject and then tells OnPass of the same pass, it also decides now which
// other faults the pass fires, and keeps them for OnPass: so that every
// fault counts the pass, even when an error here means OnPass is never
// told of it, and a replay counts passes exactly as the run did.
func (in *Injector) inject(site model.Site, detail string) error {
	in.passes[site]++
	n := in.passes[site]
	var err error
	for _, f := range in.due(site, detail, n, true) {
		in.record(f, n, detail, "")
		err = errorOf(f.Kind)
	}
	in.kept = nil
	if askedFirst(site) {
		in.kept = &keptPass{key: passKey{site, detail}, n: n, faults: in.due(site, detail, n, false)}
	}
	return err
}

// onPass is the process's OnPass hook.
func (in *Injector) onPass(ps model.Pass) {
	kept := in.kept
	in.kept = nil
	var n int
	var faults []Fault
	if kept != nil && kept.key == (passKey{ps.Site, ps.Detail}) && askedFirst(ps.Site) {
		n, faults = kept.n, kept.faults
	} else {
		in.passes[ps.Site]++
		n = in.passes[ps.Site]
		faults = in.due(ps.Site, ps.Detail, n, false)
	}
	for _, f := range faults {
		in.fire(f, n, ps.Detail, ps.Job)
	}
}

// keptPass is a pass Inject counted, with the faults it fires once OnPass
// is told of it.
type keptPass struct {
	key    passKey
	n      int
	faults []Fault
}

// askedFirst reports whether the model asks Inject before it tells OnPass
// of a pass at site, so that the pass was counted already.
func askedFirst(site model.Site) bool { return site == model.SiteTicket || site == model.SiteSolve }

// due returns the faults that fire at the nth pass through site, of the
// error kinds or of the others.
func (in *Injector) due(site model.Site, detail string, n int, errs bool) []Fault {
	if in.healed {
		return nil
	}
	var out []Fault
	for i, f := range in.plan {
		if f.Site != string(site) || errorKinds[f.Kind] != errs || !strings.Contains(detail, f.Match) {
			continue
		}
		in.matched[i]++
		if in.matched[i] < f.Nth || (f.Times > 0 && in.fired[i] >= f.Times) {
			continue
		}
		if errs && len(out) > 0 {
			continue // a pass fails with one error at most
		}
		in.fired[i]++
		out = append(out, f)
	}
	if in.random != nil && !(errs && len(out) > 0) {
		for _, kind := range in.random.draw(site, n, errs) {
			out = append(out, Fault{Kind: kind, Site: string(site), Nth: n, Times: 1})
		}
	}
	return out
}

func errorOf(kind string) error {
	switch kind {
	case "emfile":
		return model.ErrTooManyOpenFiles
	case "enospc":
		return model.ErrNoSpace
	case "scheduler-error":
		return ErrScheduler
	}
	return ErrSolverCrashed
}

func (in *Injector) record(f Fault, n int, detail, job string) {
	if f.Site != "" {
		f = Fault{Kind: f.Kind, Site: f.Site, Nth: n, Times: 1, For: f.For}
	}
	in.trace = append(in.trace, Firing{
		At: in.s.Elapsed(), Step: in.s.Steps(), Fault: f, Pass: n, Detail: detail, Job: job,
	})
}

// fire carries out a fault that is not an error of its pass.
func (in *Injector) fire(f Fault, n int, detail string, job *model.Job) {
	id := ""
	if job != nil {
		id = job.ID()
	}
	in.record(f, n, detail, id)
	t := in.t

	switch f.Kind {
	case "scheduler-error":
		t.Sched.Pool(t.Pool).FailWaiting(ErrScheduler)
	case "scheduler-disconnect":
		in.disconnect(orDefault(f.For, DisconnectFor))
	case "scheduler-down":
		in.disconnect(f.For)
	case "no-worker":
		in.noWorker(f.For)
	case "worker-lost":
		if w := in.worker(detail); w != nil {
			in.later(0, w.Disconnect)
			in.lasting(WorkerRestart, w.Reconnect)
		}
	case "worker-hang":
		if w := in.worker(detail); w != nil {
			in.later(0, w.Hang)
			in.lasting(f.For, w.Unhang)
		}
	case "cancel":
		if job != nil {
			in.later(0, func() { job.Cancel(ReasonUser) })
		}
	case "cancel-analysis", "auto-cancel":
		reason := ReasonUser
		if f.Kind == "auto-cancel" {
			reason = ReasonAutoCancel
		}
		for _, a := range in.analyses(job) {
			in.later(0, func() { a.Cancel(reason) })
		}
	case "viewer":
		if job != nil {
			if v, err := t.Proc.Watch(job); err == nil && f.For > 0 {
				in.later(f.For, v.Leave)
			}
		}
	case "restart":
		in.later(0, func() {
			in.t = in.t.Restart()
			in.hook(in.t.Proc)
		})
	}
}

// orDefault returns d, or def if d is zero.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// later runs fn d from now: what a fault does to the system happens as an
// event of its own, not inside the model's call that passed the site.
func (in *Injector) later(d time.Duration, fn func()) { in.s.After(d, fn) }

// lasting arranges for end to run after d, or at Heal if d is zero, and
// at Heal at the latest.
func (in *Injector) lasting(d time.Duration, end func()) {
	done := false
	once := func() {
		if !done {
			done = true
			end()
		}
	}
	in.ends = append(in.ends, once)
	if d > 0 {
		in.later(d, once)
	}
}

func (in *Injector) disconnect(d time.Duration) {
	c := in.t.Conn
	in.later(0, c.Disconnect)
	in.lasting(d, c.Reconnect)
}

func (in *Injector) noWorker(d time.Duration) {
	sp := in.t.Sched.Pool(in.t.Pool)
	for _, w := range sp.Workers() {
		in.later(0, w.Disconnect)
		in.lasting(d, w.Reconnect)
	}
}

// worker returns the worker called name or, for a fault at a time, the
// first connected worker with work, else the first connected one.
func (in *Injector) worker(name string) *model.Worker {
	sp := in.t.Sched.Pool(in.t.Pool)
	if name != "" {
		return sp.Worker(name)
	}
	var idle *model.Worker
	for _, w := range sp.Workers() {
		if !w.Connected() {
			continue
		}
		if w.Running() > 0 {
			return w
		}
		if idle == nil {
			idle = w
		}
	}
	return idle
}

// analyses returns the analysis job concerns: itself if it is one, the
// one it works for otherwise; every open analysis for a fault at a time.
func (in *Injector) analyses(job *model.Job) []*model.Job {
	if job == nil {
		return in.t.Analyses()
	}
	if owner := job.Owner(); owner != nil {
		return []*model.Job{owner}
	}
	return []*model.Job{job}
}

// Trace returns every firing so far, in order.
func (in *Injector) Trace() []Firing { return slices.Clone(in.trace) }

// Explicit returns the plan that replays exactly the faults that fired:
// each at the pass of its site it fired at, counting every pass, or at
// its time.
func (in *Injector) Explicit() Plan {
	p := Plan{}
	for _, fr := range in.trace {
		p = append(p, fr.Fault)
	}
	return p
}

// SiteCount is how many times the run passed one site.
type SiteCount struct {
	Site   string
	Passes int
}

// KindCount is how many times one kind of fault fired.
type KindCount struct {
	Kind  string
	Fired int
}

// Coverage is how far a run exercised the faults: every site with its
// passes, every kind with its firings, in the fixed order of Kinds.
type Coverage struct {
	Sites []SiteCount
	Kinds []KindCount
	// NeverFired lists the kinds that did not fire once.
	NeverFired []string
}

// allSites lists the sites in the order coverage reports them.
var allSites = []string{
	SiteJobCreate, SiteJobLog, SiteReadyToRun, SiteWaiting, SiteRunning, SiteSubmit, SiteTicket, SiteSolve,
}

// Coverage returns the run's coverage so far.
func (in *Injector) Coverage() Coverage {
	var c Coverage
	for _, site := range allSites {
		c.Sites = append(c.Sites, SiteCount{site, in.passes[model.Site(site)]})
	}
	fired := map[string]int{}
	for _, fr := range in.trace {
		fired[fr.Fault.Kind]++
	}
	for _, k := range kindList {
		c.Kinds = append(c.Kinds, KindCount{k.Name, fired[k.Name]})
		if fired[k.Name] == 0 {
			c.NeverFired = append(c.NeverFired, k.Name)
		}
	}
	return c
}
