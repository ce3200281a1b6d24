package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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

// Config is Current.Config: the engine's settings that jobs consult. Its
// zero value sets no confirmation threshold, as ocaml-ci's solver config.
type Config struct {
	threshold *Level
	waiters   []confirmWait
}

type confirmWait struct {
	level   Level
	resolve sim.Resolver[sim.Unit]
}

// SetConfirm sets the confirmation threshold: jobs at this level or above
// wait for it to rise (JB8). Waiting jobs whose level is now below it go
// on.
func (c *Config) SetConfirm(threshold Level) {
	c.threshold = &threshold
	c.release()
}

// ClearConfirm removes the threshold; every waiting job goes on.
func (c *Config) ClearConfirm() {
	c.threshold = nil
	c.release()
}

// needsConfirm reports whether a job at level must wait (JB8).
func (c *Config) needsConfirm(level Level) bool {
	return c.threshold != nil && *c.threshold <= level
}

func (c *Config) release() {
	// A job that goes on may start another that must wait: its wait joins
	// the new list.
	waiters := c.waiters
	c.waiters = nil
	for _, w := range waiters {
		if c.needsConfirm(w.level) {
			c.waiters = append(c.waiters, w)
			continue
		}
		if w.resolve.Promise().IsPending() {
			w.resolve.Resolve(sim.Unit{})
		}
	}
}

// confirmed is fulfilled once a job at level may start.
func (c *Config) confirmed(level Level) *sim.Promise[sim.Unit] {
	p, r := sim.Task[sim.Unit]()
	c.waiters = append(c.waiters, confirmWait{level, r})
	return p
}

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
//
// Its fields are ordered so that it packs small: every job costs this
// much for as long as anything holds it, and a leaked job for ever.
type Job struct {
	proc     *Process
	sw       *Switch
	config   *Config
	owner    *Job
	id       string
	label    string
	reason   string
	priority Priority
	startAt  time.Duration // the elapsed virtual time it started at

	log         []logLine
	readers     []sim.Resolver[sim.Unit] // woken by the next write or the close
	cancelHooks []cancelEntry

	hookSeq   int32 // cancel hooks registered, for their ids
	logOpen   bool
	started   bool
	cancelled bool
	closed    bool

	// A job's first cancel hook fits here. A solver-job registers one,
	// its pool request's; an analysis two at once, its pool request's and
	// run_job's handler, and grows an array for the second.
	inlineCancel [1]cancelEntry

	// Most jobs write a handful of lines: the first few fit here, so that
	// log needs no array of its own until it grows past them.
	inlineLog [4]logLine
}

// cancelEntry is one registered cancel hook: fn, or release for a hook
// that ignores the reason, as a pool request's cancel function does. id
// tells the entries apart, so that WithHandler can remove its own.
type cancelEntry struct {
	fn      CancelHook
	release func() *sim.Promise[sim.Unit]
	id      int32
}

// run runs the hook with the reason for the cancel.
func (e cancelEntry) run(reason string) *sim.Promise[sim.Unit] {
	if e.release != nil {
		return e.release()
	}
	return e.fn(reason)
}

// addCancel registers e as a cancel hook and returns its id.
func (j *Job) addCancel(e cancelEntry) int32 {
	j.hookSeq++
	e.id = j.hookSeq
	j.cancelHooks = append(j.cancelHooks, e)
	return e.id
}

// NewJob is Job.create ~switch ~label ~config (JB1–JB3). It fails at once
// if the switch is not On, or if the log file cannot be created (no
// descriptor, no disk space); then no job is registered. Otherwise it adds
// the job to the table, raises the gauge and pushes the job's completion
// hook on the switch. In Held mode the log keeps its descriptor open.
func (p *Process) NewJob(sw *Switch, label string, config *Config, prio Priority) (*Job, error) {
	return p.NewJobFor(nil, sw, label, config, prio)
}

// NewJobFor is NewJob for a job that works for owner, as a solver-job
// works for its analysis; see SetOwner.
func (p *Process) NewJobFor(owner *Job, sw *Switch, label string, config *Config, prio Priority) (*Job, error) {
	if p.stopped {
		return nil, ErrProcessStopped
	}
	if !sw.IsOn() {
		return nil, fmt.Errorf("Switch %s is not on! (%s)", sw.label, label)
	}
	if err := p.createLog(label); err != nil {
		return nil, err
	}
	if config == nil {
		config = &Config{}
	}
	j := &Job{proc: p, id: p.newJobID(label), label: label, sw: sw, priority: prio,
		config: config, logOpen: true, owner: owner}
	j.cancelHooks = j.inlineCancel[:0]
	j.log = j.inlineLog[:0]
	p.jobs[j.id] = j
	p.created++
	p.createdOf[label]++
	p.gauge++
	if l := p.Ledger; l != nil {
		l.Acquire(Resource{Kind: ResJob, Key: j, Holder: p}, j)
		if p.LogMode == Held {
			l.Acquire(Resource{Kind: ResLogFD, Key: j, Holder: p}, j)
		}
	}
	if sw.canPush() != nil {
		panic("model: switch went off while creating a job") // checked On above
	}
	sw.pushJob(j)
	p.observe(JobCreated, j.id, label)
	p.pass(Pass{Site: SiteReadyToRun, Detail: label, Job: j})
	return j, nil
}

// createLog creates an empty log file: it takes a descriptor, and gives it
// back at once unless logs are Held.
func (p *Process) createLog(label string) error {
	if err := p.inject(SiteJobCreate, label); err != nil {
		return err
	}
	if p.Disk.full() {
		return ErrNoSpace
	}
	if err := p.FDs.Open(FDLog); err != nil {
		return err
	}
	if p.LogMode == Transient {
		p.FDs.Close(FDLog)
	}
	return nil
}

// SetOwner records the job that this one works for, as a solver-job works
// for its analysis. OCurrent keeps no such link; jobsim keeps it so that a
// report can say whose work a leaked job was and a fault can reach the
// analysis from one of its jobs.
func (j *Job) SetOwner(owner *Job) { j.owner = owner }

// Owner returns the job this one works for, or nil.
func (j *Job) Owner() *Job { return j.owner }

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
func (j *Job) StartTime() (time.Time, bool) { return j.startTime(), j.started }

// startTime is when the job started, or the zero time if it has not.
func (j *Job) startTime() time.Time {
	if !j.started {
		return time.Time{}
	}
	return j.proc.Sim.Epoch().Add(j.startAt)
}

// Cancelled returns whether the job was cancelled, and the reason.
func (j *Job) Cancelled() (string, bool) { return j.reason, j.cancelled }

// Log returns a copy of the job's log lines.
func (j *Job) Log() []string { return appendLines(nil, j.log) }

// logLine is one line of a job's log as it was written, so that writing a
// line makes no string: its text and the Unix second it was written in,
// whose stamp it reads with; or noStamp for a line written as it is.
type logLine struct {
	text string
	sec  int64
}

// noStamp is the second of a line written without a stamp.
const noStamp = math.MinInt64

func (l logLine) String() string {
	if l.sec == noStamp {
		return l.text
	}
	var buf [128]byte
	return string(append(appendLineStamp(buf[:0], l.sec), l.text...))
}

// appendLines appends lines to out as the strings they read as.
func appendLines(out []string, lines []logLine) []string {
	for _, l := range lines {
		out = append(out, l.String())
	}
	return out
}

// LogOpen reports whether the job's log is still open for writing.
func (j *Job) LogOpen() bool { return j.logOpen }

// Logf writes one timestamped line (JB4). A write to a closed job is
// dropped and reported in the process log; the caller sees no failure
// (JB5). A write that cannot get a descriptor or disk space fails with
// ErrTooManyOpenFiles or ErrNoSpace, as the OCaml write raises.
func (j *Job) Logf(format string, args ...any) error {
	msg := format // a line with nothing to format is written as it is
	if len(args) > 0 || strings.Contains(format, "%") {
		msg = fmt.Sprintf(format, args...)
	}
	return j.LogLine(msg)
}

// LogLine writes msg as one timestamped line, as Logf("%s", msg) does
// but without formatting: for lines made by the caller.
func (j *Job) LogLine(msg string) error {
	return j.write(logLine{text: msg, sec: j.proc.Sim.Now().Unix()})
}

// Write appends text to the log as it is, with no timestamp: the raw write
// used to copy a remote log (JB4).
func (j *Job) Write(text string) error { return j.write(logLine{text: text, sec: noStamp}) }

// write appends line, opening the file for it in Transient mode, and
// wakes the log's readers (JB5, JB6).
func (j *Job) write(line logLine) error {
	p := j.proc
	msg := line.text
	if !j.logOpen {
		p.Warn("Job.write(%s, %q) called on closed job", j.id, msg)
		return nil
	}
	if err := p.inject(SiteJobLog, msg); err != nil {
		return err
	}
	if p.LogMode == Transient {
		if err := p.FDs.Open(FDLog); err != nil {
			return err
		}
		defer p.FDs.Close(FDLog)
	}
	size := len(line.text) + 1
	if line.sec != noStamp {
		size += p.stampLen()
	}
	if err := p.Disk.take(int64(size)); err != nil {
		return err
	}
	j.log = append(j.log, line)
	j.wakeReaders()
	return nil
}

// WaitLog returns a promise fulfilled by the next write to the log or by
// its close: what a client tailing the log waits on (JB6).
func (j *Job) WaitLog() *sim.Promise[sim.Unit] {
	p, r := sim.Wait[sim.Unit]()
	if j.closed {
		r.Resolve(sim.Unit{})
		return p
	}
	j.readers = append(j.readers, r)
	return p
}

func (j *Job) wakeReaders() {
	readers := j.readers
	j.readers = nil
	for _, r := range readers {
		r.Resolve(sim.Unit{})
	}
}

// OnCancel registers fn as a cancel hook. If the job is already cancelled,
// fn runs at once with the earlier reason.
func (j *Job) OnCancel(fn CancelHook) *sim.Promise[sim.Unit] {
	if j.cancelled {
		return fn(j.reason)
	}
	j.addCancel(cancelEntry{fn: fn})
	return sim.Done()
}

// onCancelRelease is OnCancel for a hook that ignores the reason.
func (j *Job) onCancelRelease(release func() *sim.Promise[sim.Unit]) *sim.Promise[sim.Unit] {
	if j.cancelled {
		return release()
	}
	j.addCancel(cancelEntry{release: release})
	return sim.Done()
}

// WithHandler is Job.with_handler: it runs fn with onCancel registered as
// a cancel hook, and removes the hook once fn's promise is resolved. If
// the job is already cancelled, onCancel runs first, then fn.
func WithHandler[T any](j *Job, onCancel CancelHook, fn func() *sim.Promise[T]) *sim.Promise[T] {
	if j.cancelled {
		return sim.Bind(onCancel(j.reason), func(sim.Unit) *sim.Promise[T] { return fn() })
	}
	id := j.addCancel(cancelEntry{fn: onCancel})
	return sim.Finalize(fn, func() *sim.Promise[sim.Unit] {
		if i := slices.IndexFunc(j.cancelHooks, func(e cancelEntry) bool { return e.id == id }); i >= 0 {
			j.cancelHooks = slices.Delete(j.cancelHooks, i, i+1)
		}
		return sim.Done()
	})
}

// Cancel is Job.cancel (JB13, JB14): it marks the job cancelled, logs the
// reason and runs the cancel hooks oldest first, one after another, in the
// background. Cancelling never closes a job. The log line's own failure,
// if the log cannot be written, is ignored here as the cancel goes on.
func (j *Job) Cancel(reason string) {
	if j.cancelled {
		_ = j.Logf("cancel(%q): already cancelled (%q)!", reason, j.reason)
		return
	}
	j.cancelled, j.reason = true, reason
	_ = j.Logf("Cancelling: %s", reason)
	hooks := j.takeCancelHooks()
	j.proc.Sim.Async(func() *sim.Promise[sim.Unit] { return runCancelHooks(hooks, reason) })
}

func (j *Job) takeCancelHooks() []cancelEntry {
	hooks := j.cancelHooks
	j.cancelHooks = nil
	return hooks
}

// runCancelHooks runs hooks oldest first, each awaited before the next.
// A hook whose promise is already resolved is followed at once by the
// next, as Bind would; only a hook still pending is waited on. Each slot
// is cleared as its hook starts, so that a job whose hooks have run keeps
// nothing of them alive.
func runCancelHooks(hooks []cancelEntry, reason string) *sim.Promise[sim.Unit] {
	for i := range hooks {
		h := hooks[i]
		hooks[i] = cancelEntry{}
		p := h.run(reason)
		switch p.State() {
		case sim.Pending:
			rest := hooks[i+1:]
			return sim.Bind(p, func(sim.Unit) *sim.Promise[sim.Unit] {
				return runCancelHooks(rest, reason)
			})
		case sim.Rejected:
			_, err := p.Result()
			return sim.Fail[sim.Unit](err)
		}
	}
	return sim.Done()
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
	if hooks.State() == sim.Fulfilled {
		j.close() // as the Map below would, at once
		return sim.Done()
	}
	return sim.Map(hooks, func(sim.Unit) sim.Unit {
		j.close()
		return sim.Unit{}
	})
}

// close closes the log, removes the job from the table and lowers the
// gauge.
func (j *Job) close() {
	p := j.proc
	if p.LogMode == Held {
		p.FDs.Close(FDLog)
		if l := p.Ledger; l != nil {
			l.Release(Resource{Kind: ResLogFD, Key: j, Holder: p})
		}
	}
	j.logOpen = false
	j.closed = true
	delete(p.jobs, j.id)
	p.closed++
	p.gauge--
	if l := p.Ledger; l != nil {
		l.Release(Resource{Kind: ResJob, Key: j, Holder: p})
	}
	j.wakeReaders()
	p.observe(JobClosed, j.id, j.label)
}

// ErrStartedTwice is the failure of starting a job twice (JB10).
var ErrStartedTwice = errors.New("Job.start called twice!")

// start sets the start time: the job is now running (JB10).
func (j *Job) start() error {
	if j.started {
		return ErrStartedTwice
	}
	j.started, j.startAt = true, j.proc.Sim.Elapsed()
	return nil
}

// StartOption changes how StartWith starts a job.
type StartOption func(*startOptions)

type startOptions struct {
	timeout time.Duration
}

// WithTimeout gives the job a timeout (JB11): once started, a background
// timer cancels it with reason "Timeout (<duration>)" unless it is already
// cancelled. The timer is not stopped when the switch turns off.
func WithTimeout(d time.Duration) StartOption {
	return func(o *startOptions) { o.timeout = d }
}

// StartWith is Job.start_with ~pool ~level (JB8–JB12). It waits for
// confirmation if the config's threshold is at or below level, asks pool
// for a resource, registering the request's cancel function as a cancel
// hook of the job, and logs the wait if the resource is not granted at
// once. Then it marks the job running, arms the timeout if one was given,
// and returns the resource.
//
// A log line that cannot be written makes StartWith reject with the write's
// error, as the OCaml raises: after a failed "Got resource" write the
// resource is never handed on.
func StartWith[R any](j *Job, pool Pool[R], level Level, opts ...StartOption) *sim.Promise[R] {
	var o startOptions
	for _, opt := range opts {
		opt(&o)
	}
	confirmed := j.confirm(level)
	if confirmed.State() == sim.Fulfilled {
		return request(j, pool, o) // at once, as Bind would
	}
	return sim.Bind(confirmed, func(sim.Unit) *sim.Promise[R] { return request(j, pool, o) })
}

// request is StartWith once the job may go on: it asks the pool, and
// starts the job once the resource is granted.
func request[R any](j *Job, pool Pool[R], o startOptions) *sim.Promise[R] {
	res, cancel := getFor(pool, j)
	j.onCancelRelease(cancel)
	if res.IsPending() {
		lines := j.proc.poolLines(pool.Label())
		if err := j.LogLine(lines.waiting); err != nil {
			return sim.Fail[R](err)
		}
		j.proc.pass(Pass{Site: SiteWaiting, Detail: j.label, Job: j})
		return sim.MapErr(res, func(r R) (R, error) {
			if err := j.LogLine(lines.got); err != nil {
				return r, err
			}
			return r, granted(j, pool, o)
		})
	}
	return sim.MapErr(res, func(r R) (R, error) { return r, granted(j, pool, o) })
}

// granted starts the job that got a resource from pool: it gets its
// start time, and its timeout if it has one.
func granted[R any](j *Job, pool Pool[R], o startOptions) error {
	j.proc.observe(ResourceGranted, j.id, pool.Label())
	if err := j.start(); err != nil {
		return err
	}
	j.proc.observe(JobStarted, j.id, j.label)
	j.proc.pass(Pass{Site: SiteRunning, Detail: j.label, Job: j})
	if o.timeout > 0 {
		j.armTimeout(o.timeout)
	}
	return nil
}

// poolFor is a Pool that can be told which job asks, so that what it
// takes is recorded for that job (see Ledger).
type poolFor[R any] interface {
	getFor(job *Job, prio Priority, sw *Switch) (*sim.Promise[R], func() *sim.Promise[sim.Unit])
}

// getFor asks pool for a resource for j, with j's priority and switch.
func getFor[R any](pool Pool[R], j *Job) (*sim.Promise[R], func() *sim.Promise[sim.Unit]) {
	if fp, ok := pool.(poolFor[R]); ok {
		return fp.getFor(j, j.priority, j.sw)
	}
	return pool.Get(j.priority, j.sw)
}

// confirm waits until the job's level is below the config's threshold
// (JB8), logging "Waiting for confirm-threshold > <level>" if it must wait
// and "Confirm-threshold now > <level>" when it may go on. The wait is
// registered as a cancel hook, so cancelling the job or turning its switch
// off ends it with ErrCanceled.
func (j *Job) confirm(level Level) *sim.Promise[sim.Unit] {
	if !j.config.needsConfirm(level) {
		return sim.Done()
	}
	if err := j.Logf("Waiting for confirm-threshold > %s", level); err != nil {
		return sim.Fail[sim.Unit](err)
	}
	wait := j.config.confirmed(level)
	j.OnCancel(func(string) *sim.Promise[sim.Unit] {
		wait.Cancel()
		return sim.Done()
	})
	return sim.Bind(wait, func(sim.Unit) *sim.Promise[sim.Unit] {
		if err := j.Logf("Confirm-threshold now > %s", level); err != nil {
			return sim.Fail[sim.Unit](err)
		}
		return sim.Done()
	})
}

// armTimeout starts the timer of JB11.
func (j *Job) armTimeout(d time.Duration) {
	s := j.proc.Sim
	s.Async(func() *sim.Promise[sim.Unit] {
		return sim.Map(s.Sleep(d), func(sim.Unit) sim.Unit {
			if !j.cancelled {
				j.Cancel(fmt.Sprintf("Timeout (%s)", formatTimeout(d)))
			}
			return sim.Unit{}
		})
	})
}

// formatTimeout writes a duration as OCurrent's job timeouts do: minutes
// with one decimal above two minutes, seconds with one decimal above two
// seconds, else seconds with six decimals.
func formatTimeout(d time.Duration) string {
	secs := d.Seconds()
	switch {
	case secs > 120:
		return fmt.Sprintf("%.1f minutes", secs/60)
	case secs > 2:
		return fmt.Sprintf("%.1f seconds", secs)
	}
	return fmt.Sprintf("%f seconds", secs)
}
