package sim

import (
	"errors"
	"fmt"
	"time"
)

// DefaultEpoch is the instant at which virtual time starts unless
// Config.Epoch says otherwise: the minute the first leaked solver-job was
// logged, 2026-06-02 15:02:13 UTC.
var DefaultEpoch = time.Date(2026, 6, 2, 15, 2, 13, 0, time.UTC)

// Config configures a new Sim.
type Config struct {
	// Seed is the one seed every random stream is derived from.
	Seed uint64
	// Epoch is the instant virtual time starts at; zero means DefaultEpoch.
	Epoch time.Time
}

// Sim is a single-threaded discrete-event simulator.
//
// Events run one at a time, in order of virtual time and, for events at the
// same instant, in the order they were scheduled (first scheduled, first
// run). Nothing runs concurrently and nothing reads the wall clock, so a run
// is a function of its seed and inputs.
//
// A Sim is not safe for use by several goroutines.
type Sim struct {
	epoch   time.Time
	seed    uint64
	now     time.Duration
	seq     uint64
	queue   eventQueue
	steps   uint64
	streams map[string]*Stream

	asyncHook  func(error)
	afterEvent func()
	fatal      error
	stopped    bool
}

// initialQueue is how many events a new Sim has room for before its queue
// grows: as many as a small run keeps queued at once, so that it allocates
// its queue once rather than doubling it from one event up.
const initialQueue = 128

// New returns a simulator at virtual time zero with an empty event queue.
func New(cfg Config) *Sim {
	epoch := cfg.Epoch
	if epoch.IsZero() {
		epoch = DefaultEpoch
	}
	s := &Sim{
		epoch:   epoch.UTC(),
		seed:    cfg.Seed,
		streams: map[string]*Stream{},
		queue:   newEventQueue(initialQueue),
	}
	s.asyncHook = s.defaultAsyncHook
	return s
}

// Seed returns the seed the simulator was created with.
func (s *Sim) Seed() uint64 { return s.seed }

// Epoch returns the instant virtual time zero stands for.
func (s *Sim) Epoch() time.Time { return s.epoch }

// Elapsed returns the virtual time since the epoch.
func (s *Sim) Elapsed() time.Duration { return s.now }

// Now returns the current virtual instant.
func (s *Sim) Now() time.Time { return s.epoch.Add(s.now) }

// Steps returns how many events have run so far. Together with Now it names
// the event that is running, for reports.
func (s *Sim) Steps() uint64 { return s.steps }

// Pending returns how many events are scheduled and not yet run.
func (s *Sim) Pending() int { return s.queue.len() }

// At schedules fn to run at elapsed virtual time t. A time in the past is
// taken as now: the event runs after every event already scheduled for now.
func (s *Sim) At(t time.Duration, fn func()) { s.schedule(t, fn, nil) }

// schedule queues an event at t that runs fn or, if fn is nil, fulfils
// wake; a time in the past is taken as now.
func (s *Sim) schedule(t time.Duration, fn func(), wake *Promise[Unit]) {
	if t < s.now {
		t = s.now
	}
	s.seq++
	s.queue.push(t, s.seq, action{fn: fn, wake: wake})
}

// After schedules fn to run d after now. A negative d is taken as zero.
func (s *Sim) After(d time.Duration, fn func()) { s.At(s.now+d, fn) }

// StopReason says why Run returned.
type StopReason int

const (
	// Idle: no event was left to run.
	Idle StopReason = iota
	// Deadline: the next event lies after Budget.Until; it stays queued.
	Deadline
	// EventBudget: Budget.MaxEvents events ran and more were queued.
	EventBudget
	// Stopped: an event called Stop.
	Stopped
	// Fatal: a rejection reached the default async exception hook (LW5).
	Fatal
)

var stopNames = [...]string{"idle", "deadline", "event budget", "stopped", "fatal"}

func (r StopReason) String() string {
	if int(r) < len(stopNames) {
		return stopNames[r]
	}
	return fmt.Sprintf("StopReason(%d)", int(r))
}

// Budget bounds one call to Run.
type Budget struct {
	// Until is the elapsed virtual time Run may advance to; events due
	// later stay queued. Zero means no limit.
	Until time.Duration
	// MaxEvents is how many events Run may execute; zero means no limit.
	MaxEvents uint64
}

// Outcome reports how a call to Run ended.
type Outcome struct {
	Reason StopReason
	// Events is how many events this call to Run executed.
	Events uint64
	// Err is set for Fatal (the async exception) and EventBudget.
	Err error
}

// ErrEventBudget is wrapped by Outcome.Err when a run spends its event
// budget with work still queued: a sign of a livelock or a budget set too
// low.
var ErrEventBudget = errors.New("sim: event budget spent")

// Run executes events in order until none is left or the budget is spent.
// When it returns because of Until, virtual time is set to Until, so that a
// later Run continues from there.
func (s *Sim) Run(b Budget) Outcome {
	s.stopped = false
	var n uint64
	for {
		if s.fatal != nil {
			err := s.fatal
			s.fatal = nil
			return Outcome{Reason: Fatal, Events: n, Err: err}
		}
		if s.stopped {
			return Outcome{Reason: Stopped, Events: n}
		}
		if s.queue.len() == 0 {
			return Outcome{Reason: Idle, Events: n}
		}
		if b.Until > 0 && s.queue.next() > b.Until {
			if s.now < b.Until {
				s.now = b.Until
			}
			return Outcome{Reason: Deadline, Events: n}
		}
		if b.MaxEvents > 0 && n >= b.MaxEvents {
			err := fmt.Errorf("%w: %d events run by %s, %d still queued",
				ErrEventBudget, n, s.Now().Format(time.RFC3339), s.queue.len())
			return Outcome{Reason: EventBudget, Events: n, Err: err}
		}

		at, a := s.queue.pop()
		s.now = at
		s.steps++
		n++
		a.run()
		if s.afterEvent != nil {
			s.afterEvent()
		}
	}
}

// Stop makes the running Run return after the current event.
func (s *Sim) Stop() { s.stopped = true }

// AfterEvent makes Run call fn after each event it executes, before it
// takes the next: the one moment when no callback is half done, so that
// a checker sees the state between events. Steps and Now still name the
// event that just ran. fn may call Stop; it must not schedule events that
// change what it checks. A nil fn removes the hook, which costs one
// branch per event when unset.
func (s *Sim) AfterEvent(fn func()) { s.afterEvent = fn }
