package model

import (
	"errors"
	"slices"
	"strings"

	"github.com/jobsim/jobsim/sim"
)

// SwitchState is where a switch stands (SW1).
type SwitchState int

const (
	On SwitchState = iota
	TurningOff
	Off
)

func (s SwitchState) String() string {
	switch s {
	case On:
		return "on"
	case TurningOff:
		return "turning off"
	}
	return "off"
}

// Errors of add_hook_or_fail (SW5).
var (
	ErrSwitchOff        = errors.New("Switch already off!")
	ErrSwitchTurningOff = errors.New("Switch is being turned off!")
)

// Hook is a switch hook: it takes no argument and returns a promise (SW2).
type Hook func() *sim.Promise[sim.Unit]

// namedHook is a hook with the name a snapshot shows it under. id is
// its key in the process's ledger, 0 if no ledger saw it pushed; kind
// says whether it is a job's completion hook. A job's completion hook
// keeps the job rather than a name and a function: its name is "job "
// and the job's id, and running it completes the job, so that a job
// costs its switch no more than one entry on the stack.
type namedHook struct {
	name string
	fn   Hook
	job  *Job // for a completion hook (ResJobHook), the job it completes
	id   uint64
	kind ResourceKind
}

// label is the name the hook is shown under.
func (h namedHook) label() string {
	if h.kind == ResJobHook {
		return jobHookName(h.job)
	}
	return h.name
}

// jobHookName is the name of j's completion hook.
func jobHookName(j *Job) string { return jobHookPrefix + j.id }

// jobHookPrefix starts the name of a job's completion hook.
const jobHookPrefix = "job "

// run runs the hook.
func (h namedHook) run() *sim.Promise[sim.Unit] {
	if h.kind == ResJobHook {
		return h.job.complete()
	}
	return h.fn()
}

// hookKey is the ledger's key of a hook.
type hookKey uint64

// Switch is Current.Switch: something that can be turned off once, running
// its hooks newest first when it is.
type Switch struct {
	proc    *Process
	seq     int // creation order, for listing
	label   string
	state   SwitchState
	dropped bool
	hooks   hookStack

	jobHooks int // completion hooks of jobs on the stack

	offWait  []sim.Resolver[sim.Unit] // turn_off and add_hook_or_exec calls waiting for Off
	peakHook int
}

// hookStack is a switch's stack of hooks, the newest last. Most switches
// hold one to three hooks at a time (a job's, a pool request's, a pool
// slot's): two fit inline, two more in a small array kept once made.
// Beyond those, hooks go in chunks of a fixed size, so that the stack
// grows without copying: a switch that is never turned off, as a
// module-level one that leaks, holds a hook for every job it ever had.
type hookStack struct {
	inline [inlineHooks]namedHook
	small  []namedHook   // the next smallHooks hooks, once there were any
	chunks [][]namedHook // the rest, hookChunk to a chunk
	n      int
}

// inlineHooks, smallHooks and hookChunk are how many hooks the inline
// array, the small array and a chunk hold.
const (
	inlineHooks = 2
	smallHooks  = 2
	hookChunk   = 256
)

func (st *hookStack) len() int { return st.n }

// chunked is how far into the chunks position i is, or negative if i is
// inline or in the small array.
func chunked(i int) int { return i - inlineHooks - smallHooks }

// at returns the hook at position i, counting from the oldest.
func (st *hookStack) at(i int) *namedHook {
	switch {
	case i < inlineHooks:
		return &st.inline[i]
	case chunked(i) < 0:
		return &st.small[i-inlineHooks]
	}
	c := chunked(i)
	return &st.chunks[c/hookChunk][c%hookChunk]
}

func (st *hookStack) push(h namedHook) {
	switch i := st.n; {
	case i >= inlineHooks && st.small == nil:
		st.small = make([]namedHook, smallHooks)
	case chunked(i) >= 0 && chunked(i)/hookChunk == len(st.chunks):
		st.chunks = append(st.chunks, make([]namedHook, hookChunk))
	}
	st.n++
	*st.at(st.n - 1) = h
}

// pop takes the newest hook off the stack; a chunk that empties is let go.
func (st *hookStack) pop() namedHook {
	st.n--
	top := st.at(st.n)
	h := *top
	*top = namedHook{}
	if c := chunked(st.n); c >= 0 && c%hookChunk == 0 {
		st.chunks[len(st.chunks)-1] = nil
		st.chunks = st.chunks[:len(st.chunks)-1]
	}
	return h
}

// NewSwitch is Switch.create: an On switch with a label (SW1).
func (p *Process) NewSwitch(label string) *Switch {
	p.switchSeq++
	return &Switch{proc: p, seq: p.switchSeq, label: label, state: On}
}

// NewSwitchOff is Switch.create_off: a switch that is already Off (SW1).
func (p *Process) NewSwitchOff(label string) *Switch {
	sw := p.NewSwitch(label)
	sw.state = Off
	return sw
}

// Label returns the switch's label.
func (sw *Switch) Label() string { return sw.label }

// State returns On, TurningOff or Off.
func (sw *Switch) State() SwitchState { return sw.state }

// IsOn reports whether the switch is On.
func (sw *Switch) IsOn() bool { return sw.state == On }

// PeakHooks returns the largest number of hooks the stack has held.
func (sw *Switch) PeakHooks() int { return sw.peakHook }

// Hooks returns the names of the hooks on the stack, oldest first.
//
// The names of jobs' completion hooks are made here, from the jobs' ids,
// all in one string that the names share: a switch holding many jobs'
// hooks, as a module-level one that leaks, costs one allocation.
func (sw *Switch) Hooks() []string {
	n := sw.hooks.len()
	size := 0
	for i := range n {
		if h := sw.hooks.at(i); h.kind == ResJobHook {
			size += len(jobHookPrefix) + len(h.job.id)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i := range n {
		if h := sw.hooks.at(i); h.kind == ResJobHook {
			b.WriteString(jobHookPrefix)
			b.WriteString(h.job.id)
		}
	}
	all := b.String()
	names := make([]string, n)
	at := 0
	for i := range n {
		h := sw.hooks.at(i)
		if h.kind != ResJobHook {
			names[i] = h.name
			continue
		}
		n := len(jobHookPrefix) + len(h.job.id)
		names[i] = all[at : at+n]
		at += n
	}
	return names
}

// push pushes a hook of kind ResHook, fn, taken for job, telling the
// ledger.
func (sw *Switch) push(name string, fn Hook, job *Job) {
	sw.pushHook(namedHook{name: name, fn: fn, kind: ResHook}, job)
}

// pushJob pushes the completion hook of j (JB3), telling the ledger.
func (sw *Switch) pushJob(j *Job) {
	sw.pushHook(namedHook{job: j, kind: ResJobHook}, j)
}

func (sw *Switch) pushHook(h namedHook, job *Job) {
	if sw.hooks.len() == 0 {
		sw.proc.switches.add(sw)
	}
	if l := sw.proc.Ledger; l != nil {
		sw.proc.hookSeq++
		h.id = sw.proc.hookSeq
		l.Acquire(Resource{Kind: h.kind, Key: hookKey(h.id), Holder: sw, Detail: h.label()}, job)
	}
	sw.hooks.push(h)
	if h.kind == ResJobHook {
		sw.jobHooks++
	}
	if sw.hooks.len() > sw.peakHook {
		sw.peakHook = sw.hooks.len()
	}
	sw.proc.peakHooks = max(sw.proc.peakHooks, sw.peakHook)
}

// pop takes the newest hook from the stack, telling the ledger.
func (sw *Switch) pop() namedHook {
	top := sw.hooks.pop()
	if top.kind == ResJobHook {
		sw.jobHooks--
	}
	if l := sw.proc.Ledger; l != nil && top.id != 0 {
		l.Release(Resource{Kind: top.kind, Key: hookKey(top.id), Holder: sw})
	}
	return top
}

// AddHookOrFail pushes fn if the switch is On. Otherwise it fails at once
// with ErrSwitchOff or ErrSwitchTurningOff (SW5).
func (sw *Switch) AddHookOrFail(name string, fn Hook) error {
	if err := sw.canPush(); err != nil {
		return err
	}
	sw.push(name, fn, nil)
	return nil
}

// canPush is nil if a hook may be pushed now, else the error
// AddHookOrFail fails with.
func (sw *Switch) canPush() error {
	switch sw.state {
	case Off:
		return ErrSwitchOff
	case TurningOff:
		return ErrSwitchTurningOff
	}
	return nil
}

// AddHookOrExec pushes fn if the switch is On, runs it now if the switch is
// Off, and runs it once the switch is Off if it is turning off (SW6).
func (sw *Switch) AddHookOrExec(name string, fn Hook) *sim.Promise[sim.Unit] {
	return sw.addHookOrExec(name, fn, nil)
}

// addHookOrExec is AddHookOrExec for a hook taken for job.
func (sw *Switch) addHookOrExec(name string, fn Hook, job *Job) *sim.Promise[sim.Unit] {
	switch sw.state {
	case Off:
		return fn()
	case TurningOff:
		return sim.Bind(sw.waitOff(), func(sim.Unit) *sim.Promise[sim.Unit] { return fn() })
	}
	sw.push(name, fn, job)
	return sim.Done()
}

// waitOff is a promise fulfilled when the switch reaches Off, which after a
// failed hook is never (SW4).
func (sw *Switch) waitOff() *sim.Promise[sim.Unit] {
	p, r := sim.Wait[sim.Unit]()
	sw.offWait = append(sw.offWait, r)
	return p
}

// TurnOff is Switch.turn_off (SW3, SW4). On an On switch it enters
// TurningOff and runs the hooks newest first, each awaited before the next,
// then the switch is Off. While turning off it returns a promise fulfilled
// when the switch is Off; on an Off switch it does nothing.
//
// A hook that is rejected stops the loop: the promise is rejected, the
// switch stays TurningOff for ever, the remaining hooks never run, and later
// calls wait for ever (SW4).
func (sw *Switch) TurnOff() *sim.Promise[sim.Unit] {
	switch sw.state {
	case Off:
		return sim.Done()
	case TurningOff:
		return sw.waitOff()
	}
	sw.state = TurningOff
	sw.proc.observe(SwitchTurningOff, "", sw.label)
	return sw.runHooks()
}

// runHooks runs the hooks newest first. A hook whose promise is already
// resolved is followed at once by the next, as Bind would; only a hook
// still pending is waited on.
func (sw *Switch) runHooks() *sim.Promise[sim.Unit] {
	for sw.hooks.len() > 0 {
		p := sw.pop().run()
		switch p.State() {
		case sim.Pending:
			return sim.Bind(p, func(sim.Unit) *sim.Promise[sim.Unit] { return sw.runHooks() })
		case sim.Rejected:
			_, err := p.Result()
			return sim.Fail[sim.Unit](err)
		}
	}
	sw.state = Off
	sw.proc.observe(SwitchOff, "", sw.label)
	sw.proc.switches.remove(sw)
	waiters := sw.offWait
	sw.offWait = nil
	for _, r := range waiters {
		r.Resolve(sim.Unit{})
	}
	return sim.Done()
}

// Drop records that the code no longer references the switch: the OCaml
// value has become garbage. See Process.Collect.
//
// An Off switch has nothing left for the collector to do, so dropping one
// records nothing.
func (sw *Switch) Drop() {
	if !sw.dropped && sw.state != Off {
		sw.dropped = true
		sw.proc.dropped = append(sw.proc.dropped, sw)
	}
}

// Collect is a run of OCaml's garbage collector over the switches (SW7).
// A switch is collected once the code has dropped it (Drop) and no job in
// the jobs table holds it; a collected switch that is still On is turned
// off, with a warning in the process log. A switch held by a module-level
// value is never dropped, and one held by a job in the table is never
// collected, so collection never rescues a leaked job.
//
// The real collector runs at times jobsim cannot predict; the model
// collects only when Collect is called, which the scenario runner does
// once, before its final snapshot. Collect returns how many switches it
// turned off.
func (p *Process) Collect() int {
	held := map[*Switch]bool{}
	for _, j := range p.jobs {
		held[j.sw] = true
	}
	n := 0
	// A hook run by a turn-off may drop another switch: it joins the new
	// list, to be collected next time.
	dropped := p.dropped
	p.dropped = nil
	for _, sw := range dropped {
		switch {
		case held[sw]:
			p.dropped = append(p.dropped, sw)
		case sw.state == On:
			p.Warn("Switch %s garbage collected while still on; turning it off", sw.label)
			sw.TurnOff()
			n++
		}
	}
	return n
}

// switchSet is the set of switches with hooks on their stack, listed in
// creation order.
type switchSet map[*Switch]struct{}

func (s *switchSet) add(sw *Switch) {
	if *s == nil {
		*s = switchSet{}
	}
	(*s)[sw] = struct{}{}
}

func (s switchSet) remove(sw *Switch) { delete(s, sw) }

// sorted returns the switches in creation order.
func (s switchSet) sorted() []*Switch {
	out := make([]*Switch, 0, len(s))
	for sw := range s {
		out = append(out, sw)
	}
	slices.SortFunc(out, func(a, b *Switch) int { return a.seq - b.seq })
	return out
}
