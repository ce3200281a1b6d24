package model

import (
	"errors"
	"fmt"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Priority is a job's priority in a pool's queue (PL1).
type Priority int

const (
	Low Priority = iota
	High
)

func (p Priority) String() string {
	if p == High {
		return "high"
	}
	return "low"
}

// Level is how risky a job's action is, compared with a confirmation
// threshold (JB8).
type Level int

const (
	Harmless Level = iota
	MostlyHarmless
	Average
	AboveAverage
	Dangerous
)

var levelNames = [...]string{"harmless", "mostly-harmless", "average", "above-average", "dangerous"}

func (l Level) String() string { return levelNames[l] }

// Config is Current.Config: the engine's settings that jobs consult.
type Config struct{}

// JobState is a job's state as derived from its fields (JB7).
type JobState int

const (
	Ready JobState = iota
	Running
	Closed
)

func (s JobState) String() string {
	switch s {
	case Ready:
		return "ready"
	case Running:
		return "running"
	}
	return "closed"
}

// CancelHook is run when a job is cancelled, with the reason.
type CancelHook func(reason string) *sim.Promise[sim.Unit]

// Job is Current.Job: a unit of work with a log, listed on /jobs from its
// creation until its switch turns off.
type Job struct {
	proc     *Process
	id       string
	label    string
	sw       *Switch
	priority Priority

	log     []string
	logOpen bool

	started     bool
	startTime   time.Time
	cancelled   bool
	reason      string
	cancelHooks []CancelHook
	closed      bool
}

// NewJob is Job.create ~switch ~label ~config (JB1–JB3). It fails at once
// if the switch is not On. Otherwise it creates the job's empty log, adds
// the job to the table, raises the gauge and pushes the job's completion
// hook on the switch.
func (p *Process) NewJob(sw *Switch, label string, _ *Config, prio Priority) (*Job, error) {
	if !sw.IsOn() {
		return nil, fmt.Errorf("Switch %s is not on! (%s)", sw.label, label)
	}
	j := &Job{proc: p, id: p.newJobID(label), label: label, sw: sw, priority: prio, logOpen: true}
	p.jobs[j.id] = j
	p.created++
	p.gauge++
	if err := sw.AddHookOrFail("job "+j.id, j.complete); err != nil {
		return nil, err // cannot happen: the switch was checked On above
	}
	return j, nil
}

// ID returns the job's id, e.g. 2026-06-02/150213-solver-job-426cf4.
func (j *Job) ID() string { return j.id }

// Label returns the label the job was created with.
func (j *Job) Label() string { return j.label }

// Switch returns the switch the job was created on.
func (j *Job) Switch() *Switch { return j.sw }

// Priority returns the job's priority.
func (j *Job) Priority() Priority { return j.priority }

// State derives ready, running or closed from the job's fields (JB7).
func (j *Job) State() JobState {
	switch {
	case j.closed:
		return Closed
	case j.started:
		return Running
	}
	return Ready
}

// StartTime returns when the job started running, if it did.
func (j *Job) StartTime() (time.Time, bool) { return j.startTime, j.started }

// Cancelled returns whether the job was cancelled, and the reason.
func (j *Job) Cancelled() (string, bool) { return j.reason, j.cancelled }

// Log returns a copy of the job's log lines.
func (j *Job) Log() []string { return append([]string(nil), j.log...) }

// LogOpen reports whether the job's log is still open for writing.
func (j *Job) LogOpen() bool { return j.logOpen }

// Logf writes one timestamped line (JB4). A write to a closed job is
// dropped and reported in the process log; the caller sees no failure
// (JB5).
func (j *Job) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.write(msg, stamp(j.proc.Sim.Now(), msg))
}

// Write appends text to the log as it is, with no timestamp: the raw write
// used to copy a remote log (JB4).
func (j *Job) Write(text string) { j.write(text, text) }

func (j *Job) write(msg, line string) {
	if !j.logOpen {
		j.proc.Warn("Job.write(%s, %s) called on closed job", j.id, msg)
		return
	}
	j.log = append(j.log, line)
}

// OnCancel registers fn as a cancel hook. If the job is already cancelled,
// fn runs at once with the earlier reason.
func (j *Job) OnCancel(fn CancelHook) *sim.Promise[sim.Unit] {
	if j.cancelled {
		return fn(j.reason)
	}
	j.cancelHooks = append(j.cancelHooks, fn)
	return sim.Done()
}

// Cancel is Job.cancel (JB13, JB14): it marks the job cancelled, logs the
// reason and runs the cancel hooks oldest first, one after another, in the
// background. Cancelling never closes a job.
func (j *Job) Cancel(reason string) {
	if j.cancelled {
		j.Logf("cancel(%q): already cancelled (%q)!", reason, j.reason)
		return
	}
	j.cancelled, j.reason = true, reason
	j.Logf("Cancelling: %s", reason)
	hooks := j.takeCancelHooks()
	j.proc.Sim.Async(func() *sim.Promise[sim.Unit] { return runCancelHooks(hooks, reason) })
}

func (j *Job) takeCancelHooks() []CancelHook {
	hooks := j.cancelHooks
	j.cancelHooks = nil
	return hooks
}

// runCancelHooks runs hooks oldest first, each awaited before the next.
func runCancelHooks(hooks []CancelHook, reason string) *sim.Promise[sim.Unit] {
	if len(hooks) == 0 {
		return sim.Done()
	}
	return sim.Bind(hooks[0](reason), func(sim.Unit) *sim.Promise[sim.Unit] {
		return runCancelHooks(hooks[1:], reason)
	})
}

// complete is the completion hook pushed on the job's switch (JB15): a job
// not yet cancelled is marked cancelled with "Job complete", silently, and
// its cancel hooks run; then the job closes.
func (j *Job) complete() *sim.Promise[sim.Unit] {
	hooks := sim.Done()
	if !j.cancelled {
		j.cancelled, j.reason = true, "Job complete"
		hooks = runCancelHooks(j.takeCancelHooks(), j.reason)
	}
	return sim.Map(hooks, func(sim.Unit) sim.Unit {
		j.close()
		return sim.Unit{}
	})
}

// close closes the log, removes the job from the table and lowers the
// gauge.
func (j *Job) close() {
	j.logOpen = false
	j.closed = true
	delete(j.proc.jobs, j.id)
	j.proc.closed++
	j.proc.gauge--
}

// ErrStartedTwice is the failure of starting a job twice (JB10).
var ErrStartedTwice = errors.New("Job.start called twice!")

// start sets the start time: the job is now running (JB10).
func (j *Job) start() error {
	if j.started {
		return ErrStartedTwice
	}
	j.started, j.startTime = true, j.proc.Sim.Now()
	return nil
}

// StartWith is Job.start_with ~pool ~level (JB9, JB10, JB12): it asks pool
// for a resource, registering the request's cancel function as a cancel
// hook of the job, logs the wait if the resource is not granted at once,
// then marks the job running and returns the resource.
func StartWith[R any](j *Job, pool Pool[R], level Level) *sim.Promise[R] {
	res, cancel := pool.Get(j.priority, j.sw)
	j.OnCancel(func(string) *sim.Promise[sim.Unit] { return cancel() })
	if res.IsPending() {
		j.Logf("Waiting for resource in pool %s", pool.Label())
		res = sim.Map(res, func(r R) R {
			j.Logf("Got resource from pool %s", pool.Label())
			return r
		})
	}
	return sim.Bind(res, func(r R) *sim.Promise[R] {
		if err := j.start(); err != nil {
			return sim.Fail[R](err)
		}
		return sim.Return(r)
	})
}
