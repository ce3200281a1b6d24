package ledger

import (
	"fmt"
	"strings"
	"time"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/model"
)

// Event names one event of a run: its virtual time since the run began
// and its step, the count of events run up to and including it.
type Event struct {
	At   time.Duration
	Step uint64
}

func (e Event) String() string {
	return fmt.Sprintf("+%s (step %d)", fault.FormatDuration(e.At), e.Step)
}

// Violation is one breach of a check.
type Violation struct {
	Check Check
	// Resource is what the breach concerns: the resource, or the holder
	// whose count is wrong.
	Resource string
	// Job is the id of the job the resource was taken for; empty for the
	// process, or for a count.
	Job string
	// Taken is the event that took the resource; zero for a count.
	Taken Event
	// Breach says what is wrong.
	Breach string
	// Seen is the event after which the breach was seen.
	Seen Event
}

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", v.Check, v.Resource)
	if v.Taken != (Event{}) {
		who := "the process"
		if v.Job != "" {
			who = "job " + v.Job
		}
		fmt.Fprintf(&b, ", taken for %s at %s", who, v.Taken)
	}
	fmt.Fprintf(&b, ": %s; seen after step %d at +%s", v.Breach, v.Seen.Step, fault.FormatDuration(v.Seen.At))
	return b.String()
}

// entry is one resource the ledger counts as taken.
type entry struct {
	r        model.Resource
	job      *model.Job
	taken    Event
	count    *count // its holder's count of its kind
	released bool
	flagged  bool // reported as held after its job closed
}

// key identifies a resource while it is taken.
type key struct {
	kind model.ResourceKind
	key  any
}

// tally names one holder's count of one kind.
type tally struct {
	holder model.Holder
	kind   model.ResourceKind
}

// count is the ledger's count of a tally: resources taken and not given
// back.
type count struct {
	tally
	n     int
	dirty bool // touched since the last check
}

// Ledger records, for one process, every resource taken for a job, with
// the job and the event that took it, and checks the process's books
// against its own: after every event (AfterEvent, safety) and at the end
// of the run (Finish, liveness). It implements model.Ledger.
//
// After an event it compares only the counts of the holders the event
// touched, and the process's own counters, so that a check costs in
// proportion to the event's work; Finish compares every count once more.
// Its violations come in the order they were seen, each reported once.
type Ledger struct {
	proc   *model.Process
	checks Checks

	entries  []*entry // in the order taken; released ones are swept out
	swept    int      // released entries not yet swept
	live     map[key]*entry
	counts   map[tally]*count
	order    []*count           // every count, in the order first seen
	dirty    []*count           // counts touched since the last check
	held     map[*model.Job]int // resources held for each job, its table entry aside
	closings []*model.Job       // jobs to check: closed, or taken for while closed

	violations []Violation
	reported   map[string]bool
	retired    bool
}

// New returns a ledger of p's resources running the given checks, and
// makes it p's ledger. p must be new: the ledger must see every
// acquisition.
func New(p *model.Process, checks Checks) *Ledger {
	l := &Ledger{
		proc: p, checks: checks,
		live: map[key]*entry{}, counts: map[tally]*count{},
		held: map[*model.Job]int{}, reported: map[string]bool{},
	}
	p.Ledger = l
	return l
}

// Checks returns the checks the ledger runs.
func (l *Ledger) Checks() Checks { return l.checks }

// Retire stops the ledger: its process has stopped, and what it held went
// with it. A retired ledger records and checks nothing more.
func (l *Ledger) Retire() { l.retired = true }

func (l *Ledger) now() Event {
	s := l.proc.Sim
	return Event{At: s.Elapsed(), Step: s.Steps()}
}

// Acquire records that r was taken for job.
func (l *Ledger) Acquire(r model.Resource, job *model.Job) {
	if l.retired {
		return
	}
	k := key{r.Kind, r.Key}
	if old, ok := l.live[k]; ok {
		l.report(Violation{Check: checkOf[r.Kind], Resource: r.Name(), Job: jobID(job), Taken: l.now(),
			Breach: "taken again while still held (first taken at " + old.taken.String() + ")", Seen: l.now()})
		return
	}
	e := &entry{r: r, job: job, taken: l.now(), count: l.countOf(r)}
	l.entries = append(l.entries, e)
	l.live[k] = e
	l.add(e.count, +1)
	if job != nil && r.Kind != model.ResJob {
		l.held[job]++
		if job.State() == model.Closed {
			l.closings = append(l.closings, job)
		}
	}
}

// Release records that r was given back.
func (l *Ledger) Release(r model.Resource) {
	if l.retired {
		return
	}
	k := key{r.Kind, r.Key}
	e, ok := l.live[k]
	if !ok {
		l.report(Violation{Check: checkOf[r.Kind], Resource: r.Kind.String() + " of " + holderName(r.Holder),
			Breach: "given back but not held: never taken, or given back twice", Seen: l.now()})
		return
	}
	delete(l.live, k)
	e.released = true
	l.swept++
	l.add(e.count, -1)
	switch {
	case e.r.Kind == model.ResJob:
		l.closings = append(l.closings, e.job)
	case e.job != nil:
		if l.held[e.job]--; l.held[e.job] == 0 {
			delete(l.held, e.job)
		}
	}
	l.sweep()
}

// countOf returns the count of r's kind its holder keeps.
func (l *Ledger) countOf(r model.Resource) *count {
	t := tally{r.Holder, r.Kind}
	c, ok := l.counts[t]
	if !ok {
		c = &count{tally: t}
		l.counts[t] = c
		l.order = append(l.order, c)
	}
	return c
}

// add adds d to c and marks it for the next check.
func (l *Ledger) add(c *count, d int) {
	c.n += d
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// sweep drops released entries once they are half of the list.
func (l *Ledger) sweep() {
	if l.swept < 64 || l.swept < len(l.entries)/2 {
		return
	}
	kept := l.entries[:0]
	for _, e := range l.entries {
		if !e.released {
			kept = append(kept, e)
		}
	}
	clear(l.entries[len(kept):])
	l.entries = kept
	l.swept = 0
}

// AfterEvent is the safety check, run after every event: the counts the
// event touched agree with the model's and stay within their limits, the
// process's counters agree with its table, and no job the event closed,
// or took something for after it closed, holds anything.
func (l *Ledger) AfterEvent() {
	if l.retired {
		return
	}
	l.checkProcess()
	for _, c := range l.dirty {
		l.checkCount(c)
		c.dirty = false
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
	for _, j := range l.closings {
		l.checkClosed(j)
	}
	l.closings = l.closings[:0]
}

// checkProcess compares the process's counters with its table.
func (l *Ledger) checkProcess() {
	c := l.proc.Census()
	if l.checks.Has(Jobs) {
		if c.Gauge != c.Table {
			l.reportCount(Jobs, "process", fmt.Sprintf("the active-jobs gauge is %d, but the table holds %d jobs", c.Gauge, c.Table))
		}
		if open := c.Created - c.Closed; open != c.Table {
			l.reportCount(Jobs, "process", fmt.Sprintf("%d jobs created and %d closed, but the table holds %d", c.Created, c.Closed, c.Table))
		}
	}
	if l.checks.Has(Sockets) && c.Viewers != c.Sockets {
		l.reportCount(Sockets, "process", fmt.Sprintf("%d viewers stream logs, but %d sockets are open", c.Viewers, c.Sockets))
	}
	if l.checks.Has(LogFDs) && l.proc.LogMode == model.Transient && c.LogFDs != 0 {
		l.reportCount(LogFDs, "process", fmt.Sprintf("%d log descriptors open between events, with transient logs", c.LogFDs))
	}
}

// checkCount compares one holder's count of one kind with the ledger's.
func (l *Ledger) checkCount(k *count) {
	t := k.tally
	c := checkOf[t.kind]
	if !l.checks.Has(c) {
		return
	}
	n, limit := t.holder.Holds(t.kind)
	mine := k.n
	var breach string
	switch {
	case n < 0:
		breach = fmt.Sprintf("count of %ss is %d, below zero", t.kind, n)
	case n != mine:
		breach = fmt.Sprintf("holds %d %ss, but the ledger counts %d taken and not given back", n, t.kind, mine)
	case limit > 0 && n > limit:
		breach = fmt.Sprintf("%d %ss in use, more than its %d", n, t.kind, limit)
	default:
		return
	}
	l.reportCount(c, holderName(t.holder), breach)
}

// checkClosed reports what a closed job still holds.
func (l *Ledger) checkClosed(j *model.Job) {
	if j == nil || j.State() != model.Closed || l.held[j] == 0 {
		return
	}
	for _, e := range l.entries {
		if e.released || e.flagged || e.job != j || e.r.Kind == model.ResJob || !l.checks.Has(checkOf[e.r.Kind]) {
			continue
		}
		e.flagged = true
		l.report(Violation{Check: checkOf[e.r.Kind], Resource: e.r.Name(), Job: j.ID(), Taken: e.taken,
			Breach: "held after its job closed", Seen: l.now()})
	}
}

// Finish is the liveness check, run once the run is over and has healed
// and drained: every count agrees with the model's once more, and every
// resource taken was given back, every job closed. Each resource still
// held is a violation naming it, the job it was taken for and the event
// that took it.
func (l *Ledger) Finish() {
	if l.retired {
		return
	}
	l.AfterEvent()
	for _, c := range l.order {
		l.checkCount(c)
	}
	for _, e := range l.entries {
		if e.released || !l.checks.Has(checkOf[e.r.Kind]) || l.inTable(e) {
			continue
		}
		breach := "never given back"
		if e.r.Kind == model.ResJob {
			breach = "never closed: the job is still in the table"
		}
		l.report(Violation{Check: checkOf[e.r.Kind], Resource: e.r.Name(), Job: jobID(e.job), Taken: e.taken,
			Breach: breach, Seen: l.now()})
	}
}

// inTable reports whether e is the completion hook of a job still in the
// table: the job's own violation says it all.
func (l *Ledger) inTable(e *entry) bool {
	return e.r.Kind == model.ResJobHook && e.job != nil && l.live[key{model.ResJob, e.job}] != nil
}

// Violations returns the violations seen so far, in the order seen.
func (l *Ledger) Violations() []Violation {
	return append([]Violation(nil), l.violations...)
}

// report records v unless its check is off.
func (l *Ledger) report(v Violation) {
	if l.checks.Has(v.Check) {
		l.violations = append(l.violations, v)
	}
}

// reportCount records a count that does not add up, once per holder and
// kind of breach: a wrong count stays wrong for many events.
func (l *Ledger) reportCount(c Check, holder, breach string) {
	k := c.String() + "\x00" + holder + "\x00" + firstWords(breach)
	if l.reported[k] {
		return
	}
	l.reported[k] = true
	l.report(Violation{Check: c, Resource: holder, Breach: breach, Seen: l.now()})
}

// firstWords is a breach's text without its numbers, to tell one kind of
// breach from another.
func firstWords(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
}

func jobID(j *model.Job) string {
	if j == nil {
		return ""
	}
	return j.ID()
}

func holderName(h model.Holder) string {
	if h == nil {
		return "process"
	}
	return h.HolderName()
}
