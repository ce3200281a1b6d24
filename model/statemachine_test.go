package model

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/sim"
)

// The tests in this file are rapid state machines. Each draws a sequence
// of actions, applies every action both to the model and to a small
// reference written here in plain Go (the sm* types), and after every
// step compares what the model shows with what the reference predicts,
// then checks invariants that hold whatever the reference says.
//
// The reference is written from SEMANTICS.md §3–§5, not from the code: it
// keeps its own clock and event queue, its own hook stacks, pool queues
// and job logs. It takes from the code under test only the job ids, which
// are random, and it checks their shape.
//
// A failure prints the shrunk action sequence and the rapid command line
// that replays it; rapid saves the failing input under testdata/rapid.

// smEpoch is the instant the reference's clock starts at: 2026-06-02
// 15:02:13 UTC, the simulator's default epoch, written out again.
var smEpoch = time.Date(2026, 6, 2, 15, 2, 13, 0, time.UTC)

// smForever is a time after every event a test schedules.
const smForever = time.Duration(math.MaxInt64)

// errSMHook is the rejection of the hooks that fail.
var errSMHook = errors.New("hook failed")

// smPromise is what the reference predicts of a promise: "pending",
// "fulfilled" or "rejected: <error>".
type smPromise struct{ state string }

func newSMPromise() *smPromise { return &smPromise{"pending"} }

func (rp *smPromise) pending() bool { return rp.state == "pending" }

func (rp *smPromise) fulfil() {
	if rp.pending() {
		rp.state = "fulfilled"
	}
}

func (rp *smPromise) reject(err string) {
	if rp.pending() {
		rp.state = "rejected: " + err
	}
}

// smShow writes a promise of the model as smPromise does.
func smShow(pr *sim.Promise[sim.Unit]) string {
	_, err := pr.Result()
	switch pr.State() {
	case sim.Pending:
		return "pending"
	case sim.Fulfilled:
		return "fulfilled"
	}
	return "rejected: " + err.Error()
}

// smOutcome is what running a hook gives: a promise resolved after delay
// (at once if zero), rejected if fail.
type smOutcome struct {
	delay time.Duration
	fail  bool
}

// smHook is a hook on a reference switch: the name the stack shows and
// what running it does.
type smHook struct {
	name string
	run  func() smOutcome
}

// smSwitch is a reference switch (SW1–SW6).
type smSwitch struct {
	label   string
	state   SwitchState
	wedged  bool     // a hook failed during the turn-off (SW4)
	listed  bool     // it has had a hook and is not Off: snapshots list it
	stack   []smHook // oldest first
	peak    int
	turnOff *smPromise // the turn-off that took it out of On
	waiters []func()   // run in order once it is Off
	trace   []string   // the test's own hooks, "name@elapsed", as they ran
}

func (sw *smSwitch) hookNames() []string {
	names := make([]string, len(sw.stack))
	for i, h := range sw.stack {
		names[i] = h.name
	}
	return names
}

// Where a reference request stands with its pool.
const (
	smQueued = iota
	smGranted
	smRefused
)

// smRequest is a reference request to the Local pool (PL2, PL3).
type smRequest struct {
	prio      Priority
	sw        *smSwitch
	ready     int  // smQueued until granted or refused
	execDone  bool // its cancel hook was pushed, or has run
	continued bool
	got       *smPromise
	then      func() // start_with's continuation, once got is resolved
}

// smPool is the reference Local pool (PL1–PL5).
type smPool struct {
	label     string
	capacity  int
	used      int
	high, low []*smRequest
	holders   []*smSwitch // in grant order
	granted   int         // grants ever made
	released  int         // release hooks run
}

// smJob is a reference job (JB1–JB16).
type smJob struct {
	id          string // as the model drew it
	label       string
	sw          *smSwitch
	prio        Priority
	log         []string
	started     bool
	startAt     time.Duration
	cancelled   bool
	reason      string
	cancelHooks []*smRequest
	closed      bool
}

// smEvent is an event on the reference's queue.
type smEvent struct {
	at  time.Duration
	seq int
	fn  func()
}

// smRef is the reference: a clock, an event queue, switches, one Local
// pool, jobs and the process log.
type smRef struct {
	now      time.Duration
	seq      int
	events   []smEvent
	switches []*smSwitch
	pool     *smPool
	jobs     []*smJob
	created  int
	closed   int
	warnings []string
}

// after schedules fn d from now; events at one instant run in the order
// they were scheduled.
func (r *smRef) after(d time.Duration, fn func()) {
	r.seq++
	r.events = append(r.events, smEvent{at: r.now + d, seq: r.seq, fn: fn})
}

// runUntil runs, in order, the events due at or before t.
func (r *smRef) runUntil(t time.Duration) {
	for len(r.events) > 0 {
		next := 0
		for i, ev := range r.events {
			if ev.at < r.events[next].at ||
				ev.at == r.events[next].at && ev.seq < r.events[next].seq {
				next = i
			}
		}
		ev := r.events[next]
		if ev.at > t {
			return
		}
		r.events = slices.Delete(r.events, next, next+1)
		r.now = ev.at
		ev.fn()
	}
}

func (r *smRef) stamp(msg string) string {
	return smEpoch.Add(r.now).Format("2006-01-02 15:04.05") + ": " + msg
}

// Switch (SW1–SW6).

func (r *smRef) newSwitch(label string, off bool) *smSwitch {
	sw := &smSwitch{label: label, state: On}
	if off {
		sw.state = Off
	}
	r.switches = append(r.switches, sw)
	return sw
}

func (r *smRef) push(sw *smSwitch, h smHook) {
	sw.stack = append(sw.stack, h)
	sw.listed = true
	sw.peak = max(sw.peak, len(sw.stack))
}

func (r *smRef) addHookOrFail(sw *smSwitch, h smHook) string {
	switch sw.state {
	case Off:
		return "Switch already off!"
	case TurningOff:
		return "Switch is being turned off!"
	}
	r.push(sw, h)
	return ""
}

func (r *smRef) addHookOrExec(sw *smSwitch, h smHook) *smPromise {
	rp := newSMPromise()
	switch sw.state {
	case On:
		r.push(sw, h)
		rp.fulfil()
	case Off:
		r.settle(rp, h.run())
	default:
		sw.waiters = append(sw.waiters, func() { r.settle(rp, h.run()) })
	}
	return rp
}

// settle resolves rp as the promise of a hook that ran with outcome o.
func (r *smRef) settle(rp *smPromise, o smOutcome) {
	done := func() {
		if o.fail {
			rp.reject(errSMHook.Error())
		} else {
			rp.fulfil()
		}
	}
	if o.delay > 0 {
		r.after(o.delay, done)
		return
	}
	done()
}

func (r *smRef) turnOff(sw *smSwitch) *smPromise {
	rp := newSMPromise()
	switch sw.state {
	case Off:
		rp.fulfil()
	case TurningOff:
		sw.waiters = append(sw.waiters, rp.fulfil)
	default:
		sw.state, sw.turnOff = TurningOff, rp
		r.runHooks(sw)
	}
	return rp
}

// runHooks pops and runs hooks newest first until one must be awaited or
// fails, or the stack is empty and the switch goes Off.
func (r *smRef) runHooks(sw *smSwitch) {
	for len(sw.stack) > 0 {
		h := sw.stack[len(sw.stack)-1]
		sw.stack = sw.stack[:len(sw.stack)-1]
		o := h.run()
		if o.delay > 0 {
			r.after(o.delay, func() {
				if o.fail {
					r.wedge(sw)
				} else {
					r.runHooks(sw)
				}
			})
			return
		}
		if o.fail {
			r.wedge(sw)
			return
		}
	}
	sw.state, sw.listed = Off, false
	waiters := sw.waiters
	sw.waiters = nil
	for _, w := range waiters {
		w()
	}
	sw.turnOff.fulfil()
}

// wedge is SW4: the turn-off rejects and the switch stays TurningOff.
func (r *smRef) wedge(sw *smSwitch) {
	sw.wedged = true
	sw.turnOff.reject(errSMHook.Error())
}

// Local pool (PL1–PL5).

func (r *smRef) get(prio Priority, sw *smSwitch) *smRequest {
	pl := r.pool
	rq := &smRequest{prio: prio, sw: sw, got: newSMPromise()}
	if prio == High {
		pl.high = append(pl.high, rq)
	} else {
		pl.low = append(pl.low, rq)
	}
	r.grantFree()

	// add_hook_or_exec of the request's cancel function.
	switch sw.state {
	case On:
		r.push(sw, smHook{name: "cancel request to pool " + pl.label, run: func() smOutcome {
			r.cancelRequest(rq)
			return smOutcome{}
		}})
		rq.execDone = true
	case Off:
		r.cancelRequest(rq)
		rq.execDone = true
	default:
		sw.waiters = append(sw.waiters, func() {
			r.cancelRequest(rq)
			rq.execDone = true
			r.proceed(rq)
		})
	}
	r.proceed(rq)
	return rq
}

// grantFree hands free slots to queued requests, High first, FIFO within
// each.
func (r *smRef) grantFree() {
	pl := r.pool
	for pl.used < pl.capacity {
		var rq *smRequest
		switch {
		case len(pl.high) > 0:
			rq, pl.high = pl.high[0], pl.high[1:]
		case len(pl.low) > 0:
			rq, pl.low = pl.low[0], pl.low[1:]
		default:
			return
		}
		pl.used++
		pl.granted++
		rq.ready = smGranted
		r.proceed(rq)
	}
}

func (r *smRef) cancelRequest(rq *smRequest) {
	pl := r.pool
	isRq := func(q *smRequest) bool { return q == rq }
	pl.high = slices.DeleteFunc(pl.high, isRq)
	pl.low = slices.DeleteFunc(pl.low, isRq)
	if rq.ready == smQueued {
		rq.ready = smRefused
		r.proceed(rq)
	}
}

// proceed is what follows once the cancel hook is in place and the
// request is granted or refused: refused, it rejects; granted, it pushes
// the release hook with add_hook_or_fail, and a switch no longer On
// leaks the slot (JB16, PL5).
func (r *smRef) proceed(rq *smRequest) {
	if !rq.execDone || rq.ready == smQueued || rq.continued {
		return
	}
	rq.continued = true
	pl := r.pool
	switch {
	case rq.ready == smRefused:
		rq.got.reject(`Cancelled waiting for resource from pool "` + pl.label + `"`)
	case rq.sw.state == On:
		sw := rq.sw
		r.push(sw, smHook{name: "release slot of pool " + pl.label, run: func() smOutcome {
			r.release(sw)
			return smOutcome{}
		}})
		pl.holders = append(pl.holders, sw)
		rq.got.fulfil()
	case rq.sw.state == Off:
		rq.got.reject("Switch already off!")
	default:
		rq.got.reject("Switch is being turned off!")
	}
	if rq.then != nil {
		rq.then()
	}
}

func (r *smRef) release(sw *smSwitch) {
	pl := r.pool
	if i := slices.Index(pl.holders, sw); i >= 0 {
		pl.holders = slices.Delete(pl.holders, i, i+1)
	}
	pl.used--
	pl.released++
	r.grantFree()
}

// Job (JB1–JB16).

func (r *smRef) newJob(sw *smSwitch, label string, prio Priority, id string) (*smJob, string) {
	if sw.state != On {
		return nil, "Switch " + sw.label + " is not on! (" + label + ")"
	}
	j := &smJob{id: id, label: label, sw: sw, prio: prio}
	r.jobs = append(r.jobs, j)
	r.created++
	r.push(sw, smHook{name: "job " + id, run: func() smOutcome {
		r.complete(j)
		return smOutcome{}
	}})
	return j, ""
}

// logf writes a line to j's log, or reports the write in the process log
// if j is closed, the text quoted as OCaml's %S does (JB5).
func (r *smRef) logf(j *smJob, msg string) {
	if j.closed {
		quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(msg)
		r.warnings = append(r.warnings,
			r.stamp("Job.write("+j.id+`, "`+quoted+`") called on closed job`))
		return
	}
	j.log = append(j.log, r.stamp(msg))
}

func (r *smRef) runCancelHooks(j *smJob) {
	hooks := j.cancelHooks
	j.cancelHooks = nil
	for _, rq := range hooks {
		r.cancelRequest(rq)
	}
}

func (r *smRef) cancel(j *smJob, reason string) {
	if j.cancelled {
		r.logf(j, `cancel("`+reason+`"): already cancelled ("`+j.reason+`")!`)
		return
	}
	j.cancelled, j.reason = true, reason
	r.logf(j, "Cancelling: "+reason)
	r.runCancelHooks(j)
}

// complete is the job's completion hook (JB15).
func (r *smRef) complete(j *smJob) {
	if !j.cancelled {
		j.cancelled, j.reason = true, "Job complete"
		r.runCancelHooks(j)
	}
	j.closed = true
	r.closed++
}

func (r *smRef) startWith(j *smJob) *smPromise {
	res := newSMPromise()
	rq := r.get(j.prio, j.sw)
	if j.cancelled {
		r.cancelRequest(rq)
	} else {
		j.cancelHooks = append(j.cancelHooks, rq)
	}
	start := func() {
		switch {
		case !rq.got.pending() && rq.got.state != "fulfilled":
			res.state = rq.got.state
		case j.started:
			res.reject("Job.start called twice!")
		default:
			j.started, j.startAt = true, r.now
			res.fulfil()
		}
	}
	if !rq.got.pending() {
		start()
		return res
	}
	r.logf(j, "Waiting for resource in pool "+r.pool.label)
	rq.then = func() {
		if rq.got.state == "fulfilled" {
			r.logf(j, "Got resource from pool "+r.pool.label)
		}
		start()
	}
	return res
}

func (r *smRef) openJobs() []*smJob {
	var open []*smJob
	for _, j := range r.jobs {
		if !j.closed {
			open = append(open, j)
		}
	}
	return open
}

// smHarness drives the model and the reference side by side: sws[i] is
// the model's twin of ref.switches[i], jobs[i] of ref.jobs[i].
type smHarness struct {
	p       *Process
	ref     *smRef
	sws     []*Switch
	traces  [][]string // the test's own hooks run on each switch
	lp      *LocalPool
	jobs    []*Job
	tracked []smTracked
	hooks   int // hooks made so far, to name the next
}

// smTracked is a promise of the model with its predicted twin.
type smTracked struct {
	what string
	got  *sim.Promise[sim.Unit]
	want *smPromise
}

func newSMHarness() *smHarness {
	return &smHarness{p: NewProcess(sim.New(sim.Config{Seed: 1})), ref: &smRef{}}
}

func (h *smHarness) track(what string, got *sim.Promise[sim.Unit], want *smPromise) {
	h.tracked = append(h.tracked, smTracked{what, got, want})
}

// withPool gives the model and the reference a Local pool "analyse".
func (h *smHarness) withPool(capacity int) {
	h.lp = h.p.NewLocalPool("analyse", capacity)
	h.ref.pool = &smPool{label: "analyse", capacity: capacity}
}

// smPick draws an index below n, or skips the action if n is zero.
func smPick(t *rapid.T, n int, label string) int {
	if n == 0 {
		t.Skip("no " + label + " yet")
	}
	return rapid.IntRange(0, n-1).Draw(t, label)
}

// pickSwitch draws a switch: mostly one that is not Off, where the work
// goes on, and now and then any switch, so that requests and jobs also
// meet Off switches (JB1, JB16).
func (h *smHarness) pickSwitch(t *rapid.T) int {
	var live []int
	for i, sw := range h.ref.switches {
		if sw.state != Off {
			live = append(live, i)
		}
	}
	if len(live) == 0 || rapid.IntRange(0, 3).Draw(t, "any_switch") == 0 {
		return smPick(t, len(h.sws), "switch")
	}
	return live[smPick(t, len(live), "live_switch")]
}

// pickJob draws a job: mostly an open one, now and then any.
func (h *smHarness) pickJob(t *rapid.T) int {
	var open []int
	for n, j := range h.ref.jobs {
		if !j.closed {
			open = append(open, n)
		}
	}
	if len(open) == 0 || rapid.IntRange(0, 3).Draw(t, "any_job") == 0 {
		return smPick(t, len(h.jobs), "job")
	}
	return open[smPick(t, len(open), "open_job")]
}

// newSwitch makes the next switch, On or Off.
func (h *smHarness) newSwitch(t *rapid.T, off bool) {
	label := fmt.Sprintf("sw%d", len(h.sws))
	t.Logf("new switch %s (off: %v)", label, off)
	if off {
		h.sws = append(h.sws, h.p.NewSwitchOff(label))
	} else {
		h.sws = append(h.sws, h.p.NewSwitch(label))
	}
	h.traces = append(h.traces, nil)
	h.ref.newSwitch(label, off)
}

// userHook returns a hook for switch i that records its run and gives o,
// and its reference twin.
func (h *smHarness) userHook(i int, o smOutcome) (string, Hook, smHook) {
	h.hooks++
	name := fmt.Sprintf("h%d", h.hooks)
	fn := func() *sim.Promise[sim.Unit] {
		h.traces[i] = append(h.traces[i], fmt.Sprintf("%s@%v", name, h.p.Sim.Elapsed()))
		pr := sim.Done()
		if o.delay > 0 {
			pr = h.p.Sim.Sleep(o.delay)
		}
		if o.fail {
			pr = sim.Bind(pr, func(sim.Unit) *sim.Promise[sim.Unit] {
				return sim.Fail[sim.Unit](errSMHook)
			})
		}
		return pr
	}
	sw := h.ref.switches[i]
	ref := smHook{name: name, run: func() smOutcome {
		sw.trace = append(sw.trace, fmt.Sprintf("%s@%v", name, h.ref.now))
		return o
	}}
	return name, fn, ref
}

// addHookOrFail pushes a user hook that gives o on switch i.
func (h *smHarness) addHookOrFail(t *rapid.T, i int, o smOutcome) {
	name, fn, ref := h.userHook(i, o)
	t.Logf("sw%d.AddHookOrFail(%s: %+v)", i, name, o)
	err := h.sws[i].AddHookOrFail(name, fn)
	want := h.ref.addHookOrFail(h.ref.switches[i], ref)
	got := ""
	if err != nil {
		got = err.Error()
	}
	require.Equal(t, want, got, "sw%d.AddHookOrFail(%s) error (SW5)", i, name)
}

// turnOff turns switch i off.
func (h *smHarness) turnOff(t *rapid.T, i int) {
	t.Logf("sw%d.TurnOff()", i)
	got := h.sws[i].TurnOff()
	what := fmt.Sprintf("sw%d.TurnOff() at %v", i, h.ref.now)
	h.track(what, got, h.ref.turnOff(h.ref.switches[i]))
}

// advance moves both clocks on by d, running the events due.
func (h *smHarness) advance(t *rapid.T, d time.Duration) {
	t.Logf("advance %v", d)
	until := h.p.Sim.Elapsed() + d
	h.p.Sim.At(until, func() {})
	out := h.p.Sim.Run(sim.Budget{Until: until, MaxEvents: 100_000})
	require.Contains(t, []sim.StopReason{sim.Idle, sim.Deadline}, out.Reason,
		"Run(until %v) = %v (%v)", until, out.Reason, out.Err)
	h.ref.after(d, func() {})
	h.ref.runUntil(h.ref.now + d)
}

// runIdle runs both until no event is left.
func (h *smHarness) runIdle(t *rapid.T) {
	t.Logf("run until idle")
	out := h.p.Sim.Run(sim.Budget{MaxEvents: 100_000})
	require.Equal(t, sim.Idle, out.Reason, "Run() = %v (%v), want idle", out.Reason, out.Err)
	h.ref.runUntil(smForever)
}

// Checks, run after every step.

// checkClock compares the two clocks.
func (h *smHarness) checkClock(t *rapid.T) {
	require.Equal(t, h.ref.now, h.p.Sim.Elapsed(), "Sim.Elapsed()")
}

// checkPromises compares every promise the test keeps with its
// prediction.
func (h *smHarness) checkPromises(t *rapid.T) {
	for _, tr := range h.tracked {
		require.Equal(t, tr.want.state, smShow(tr.got), "%s", tr.what)
	}
}

// checkSwitches compares each switch's state, hook stack and the hooks run
// on it, and the switches a snapshot lists.
func (h *smHarness) checkSwitches(t *rapid.T) {
	var want []string
	for i, ref := range h.ref.switches {
		sw := h.sws[i]
		require.Equal(t, ref.state.String(), sw.State().String(), "sw%d.State()", i)
		if ref.wedged {
			require.Equal(t, TurningOff.String(), sw.State().String(),
				"sw%d.State() after a failed hook (SW4)", i)
		}
		require.Equal(t, ref.hookNames(), sw.Hooks(), "sw%d.Hooks() (SW3: a stack)", i)
		require.Equal(t, ref.trace, h.traces[i], "hooks run on sw%d (SW3: newest first)", i)
		require.Equal(t, ref.peak, sw.PeakHooks(), "sw%d.PeakHooks()", i)
		if ref.listed {
			want = append(want, fmt.Sprintf("%s %v %q peak %d",
				ref.label, ref.state, ref.hookNames(), ref.peak))
		}
	}
	var got []string
	for _, v := range h.p.Snapshot().Switches {
		got = append(got, fmt.Sprintf("%s %v %q peak %d", v.Label, v.State, v.Hooks, v.Peak))
	}
	require.Equal(t, want, got, "Snapshot().Switches")
}

// checkPool compares the pool with the reference and checks its
// capacity.
func (h *smHarness) checkPool(t *rapid.T) {
	pl := h.ref.pool
	used := h.lp.InUse()
	require.LessOrEqual(t, used, h.lp.Capacity(), "InUse() > Capacity() (PL1)")
	require.Equal(t, pl.granted-pl.released, used, "InUse(), want slots granted and not released")
	require.Equal(t, pl.used, used, "InUse()")
	high, low := h.lp.Queued()
	require.Equal(t, [2]int{len(pl.high), len(pl.low)}, [2]int{high, low}, "Queued() (high, low)")

	// A granted slot that no release hook holds is leaked: its switch was
	// no longer On when it was granted (JB16, PL5).
	want := fmt.Sprintf("%s %d/%d queued %d+%d leaked %d holders",
		pl.label, pl.used, pl.capacity, len(pl.high), len(pl.low), pl.used-len(pl.holders))
	for _, sw := range pl.holders {
		want += " " + sw.label
	}
	var got []string
	for _, v := range h.p.Snapshot().Pools {
		got = append(got, fmt.Sprintf("%s %d/%d queued %d+%d leaked %d holders",
			v.Label, v.InUse, v.Capacity, v.High, v.Low, v.Leaked))
		for _, label := range v.Holders {
			got[len(got)-1] += " " + label
		}
	}
	require.Equal(t, []string{want}, got, "Snapshot().Pools")
}

// smHookOutcome draws how a test hook behaves: at once or after 1–3 s.
func smHookOutcome(t *rapid.T, fail bool) smOutcome {
	secs := rapid.IntRange(0, 3).Draw(t, "hook_delay_s")
	return smOutcome{delay: time.Duration(secs) * time.Second, fail: fail}
}

// TestSW_StateMachine drives up to four switches with hooks that succeed
// or fail, at once or later, and checks SW1–SW6 after every step.
func TestSW_StateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := newSMHarness()
		h.newSwitch(t, false)

		t.Repeat(map[string]func(*rapid.T){
			"new_switch": func(t *rapid.T) {
				if len(h.sws) == 4 {
					t.Skip("four switches already")
				}
				h.newSwitch(t, rapid.IntRange(0, 3).Draw(t, "create_off") == 0)
			},
			"add_hook_or_fail": func(t *rapid.T) {
				i := h.pickSwitch(t)
				h.addHookOrFail(t, i, smHookOutcome(t, false))
			},
			"add_failing_hook": func(t *rapid.T) {
				i := h.pickSwitch(t)
				h.addHookOrFail(t, i, smHookOutcome(t, true))
			},
			"add_hook_or_exec": func(t *rapid.T) {
				i := h.pickSwitch(t)
				o := smHookOutcome(t, rapid.IntRange(0, 3).Draw(t, "fails") == 0)
				name, fn, ref := h.userHook(i, o)
				t.Logf("sw%d.AddHookOrExec(%s: %+v)", i, name, o)
				got := h.sws[i].AddHookOrExec(name, fn)
				what := fmt.Sprintf("sw%d.AddHookOrExec(%s) at %v (SW6)", i, name, h.ref.now)
				h.track(what, got, h.ref.addHookOrExec(h.ref.switches[i], ref))
			},
			"turn_off": func(t *rapid.T) {
				h.turnOff(t, h.pickSwitch(t))
			},
			"advance": func(t *rapid.T) {
				h.advance(t, time.Duration(rapid.IntRange(1, 4).Draw(t, "seconds"))*time.Second)
			},
			"run_idle": func(t *rapid.T) { h.runIdle(t) },
			"": func(t *rapid.T) {
				h.checkClock(t)
				h.checkSwitches(t)
				h.checkPromises(t)
			},
		})
	})
}

// TestPL_StateMachine makes High and Low requests to a Local pool of one
// or two slots from up to eight switches, cancels them, turns switches
// off, some slowly, and checks PL1–PL5 after every step.
func TestPL_StateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := newSMHarness()
		h.withPool(rapid.IntRange(1, 2).Draw(t, "capacity"))
		for range 3 {
			h.newSwitch(t, false)
		}

		// The model's requests, and the order in which they are granted,
		// seen from outside.
		type request struct {
			sw     int
			prio   Priority
			got    *sim.Promise[sim.Unit]
			cancel func() *sim.Promise[sim.Unit]
			ref    *smRequest
		}
		type grant struct {
			req         int
			prio        Priority
			highWaiting int
		}
		var requests []*request
		var grants []grant

		// turnOff turns switch i off, often slowly: a hook pushed first
		// keeps it TurningOff for 1–10 s, with the hooks below still on
		// its stack (PL5).
		turnOff := func(t *rapid.T, i int) {
			if h.sws[i].IsOn() && rapid.Bool().Draw(t, "slowly") {
				secs := rapid.IntRange(1, 10).Draw(t, "hook_delay_s")
				h.addHookOrFail(t, i, smOutcome{delay: time.Duration(secs) * time.Second})
			}
			h.turnOff(t, i)
		}

		t.Repeat(map[string]func(*rapid.T){
			"new_switch": func(t *rapid.T) {
				if len(h.sws) == 8 {
					t.Skip("eight switches already")
				}
				h.newSwitch(t, false)
			},
			"request": func(t *rapid.T) {
				i := h.pickSwitch(t)
				prio := Low
				if rapid.Bool().Draw(t, "high") {
					prio = High
				}
				n := len(requests)
				t.Logf("r%d = Get(%v, sw%d)", n, prio, i)
				rq := &request{sw: i, prio: prio}
				rq.got, rq.cancel = h.lp.Get(prio, h.sws[i])
				rq.ref = h.ref.get(prio, h.ref.switches[i])
				requests = append(requests, rq)
				h.track(fmt.Sprintf("r%d = Get(%v, sw%d)", n, prio, i), rq.got, rq.ref.got)
				sim.On(rq.got, func(_ sim.Unit, err error) {
					if err == nil {
						high, _ := h.lp.Queued()
						grants = append(grants, grant{n, prio, high})
					}
				})
			},
			"cancel_request": func(t *rapid.T) {
				n := smPick(t, len(requests), "request")
				t.Logf("cancel r%d", n)
				require.Equal(t, "fulfilled", smShow(requests[n].cancel()), "cancel r%d", n)
				h.ref.cancelRequest(requests[n].ref)
			},
			"turn_off": func(t *rapid.T) {
				turnOff(t, h.pickSwitch(t))
			},
			"turn_off_holder": func(t *rapid.T) {
				var held []int
				for i, sw := range h.ref.switches {
					if slices.Contains(h.ref.pool.holders, sw) {
						held = append(held, i)
					}
				}
				turnOff(t, held[smPick(t, len(held), "holder")])
			},
			"slow_hook": func(t *rapid.T) {
				i := h.pickSwitch(t)
				secs := rapid.IntRange(1, 10).Draw(t, "hook_delay_s")
				h.addHookOrFail(t, i, smOutcome{delay: time.Duration(secs) * time.Second})
			},
			"advance": func(t *rapid.T) {
				h.advance(t, time.Duration(rapid.IntRange(1, 4).Draw(t, "seconds"))*time.Second)
			},
			"run_idle": func(t *rapid.T) { h.runIdle(t) },
			"": func(t *rapid.T) {
				h.checkClock(t)
				h.checkPool(t)
				h.checkSwitches(t)
				h.checkPromises(t)

				// PL1 as seen from outside: no Low request is granted
				// while a High one waits, and each priority is served in
				// the order asked.
				last := map[Priority]int{Low: -1, High: -1}
				for _, g := range grants {
					require.False(t, g.prio == Low && g.highWaiting > 0,
						"r%d (low) granted while %d high requests waited (PL1)",
						g.req, g.highWaiting)
					require.Greater(t, g.req, last[g.prio],
						"r%d (%v) granted after r%d (PL1: FIFO)", g.req, g.prio, last[g.prio])
					last[g.prio] = g.req
				}

				// PL2: a slot is held until its holder's switch turns off,
				// and freed by then.
				holding := map[string]int{}
				for _, v := range h.p.Snapshot().Pools[0].Holders {
					holding[v]++
				}
				fulfilled := make([]int, len(h.sws))
				for _, rq := range requests {
					if rq.got.State() == sim.Fulfilled {
						fulfilled[rq.sw]++
					}
				}
				for i, sw := range h.sws {
					n := holding[sw.Label()]
					switch sw.State() {
					case On:
						require.Equal(t, fulfilled[i], n, "slots held by sw%d (on) (PL2)", i)
					case Off:
						require.Zero(t, n, "slots held by sw%d (off) (PL2)", i)
					default:
						require.LessOrEqual(t, n, fulfilled[i], "slots held by sw%d (PL2)", i)
					}
				}
			},
		})
	})
}

// smJobID matches a job id drawn at time hhmmss with label (JB2).
func smJobID(hhmmss, label string) *regexp.Regexp {
	return regexp.MustCompile("^2026-06-02/" + hhmmss + "-" +
		regexp.QuoteMeta(label) + "-[0-9a-f]{6}$")
}

// TestJB_StateMachine creates jobs on up to eight switches, writes to their
// logs, starts them on a Local pool of one or two slots, cancels them and
// turns their switches off, and checks JB1–JB16 after every step.
func TestJB_StateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := newSMHarness()
		h.withPool(rapid.IntRange(1, 2).Draw(t, "capacity"))
		for range 2 {
			h.newSwitch(t, false)
		}
		lines := 0
		startWith := func(t *rapid.T, n int) {
			t.Logf("StartWith(j%d)", n)
			got := StartWith[sim.Unit](h.jobs[n], h.lp, Average)
			what := fmt.Sprintf("StartWith(j%d) at %v", n, h.ref.now)
			h.track(what, got, h.ref.startWith(h.ref.jobs[n]))
		}

		t.Repeat(map[string]func(*rapid.T){
			"new_switch": func(t *rapid.T) {
				if len(h.sws) == 8 {
					t.Skip("eight switches already")
				}
				h.newSwitch(t, rapid.IntRange(0, 3).Draw(t, "create_off") == 0)
			},
			"create_job": func(t *rapid.T) {
				// Often on a switch of its own, as OCurrent's jobs are.
				i := len(h.sws)
				if i < 8 && rapid.Bool().Draw(t, "own_switch") {
					h.newSwitch(t, false)
				} else {
					i = h.pickSwitch(t)
				}
				prio := Low
				if rapid.Bool().Draw(t, "high") {
					prio = High
				}
				label := fmt.Sprintf("job-%d", h.ref.created)
				t.Logf("NewJob(sw%d, %s, %v)", i, label, prio)
				j, err := h.p.NewJob(h.sws[i], label, nil, prio)
				id := ""
				if err == nil {
					id = j.ID()
					hhmmss := smEpoch.Add(h.ref.now).Format("150405")
					require.Regexp(t, smJobID(hhmmss, label), id, "job id (JB2)")
				}
				_, want := h.ref.newJob(h.ref.switches[i], label, prio, id)
				if want != "" {
					require.EqualError(t, err, want, "NewJob(sw%d) (JB1)", i)
					return
				}
				require.NoError(t, err, "NewJob(sw%d)", i)
				require.Empty(t, j.Log(), "log after creation (JB3)")
				h.jobs = append(h.jobs, j)
				if rapid.Bool().Draw(t, "start_now") {
					startWith(t, len(h.jobs)-1)
				}
			},
			"write_log": func(t *rapid.T) {
				n := h.pickJob(t)
				lines++
				msg := fmt.Sprintf("line %d", lines)
				t.Logf("j%d.Logf(%q)", n, msg)
				require.NoError(t, h.jobs[n].Logf("%s", msg), "j%d.Logf (JB5)", n)
				h.ref.logf(h.ref.jobs[n], msg)
			},
			"start_with": func(t *rapid.T) { startWith(t, h.pickJob(t)) },
			"cancel": func(t *rapid.T) {
				n := h.pickJob(t)
				reason := rapid.SampledFrom([]string{
					"Cancelled by user",
					"Auto-cancelling job because it is no longer needed",
				}).Draw(t, "reason")
				t.Logf("j%d.Cancel(%q)", n, reason)
				h.jobs[n].Cancel(reason)
				h.ref.cancel(h.ref.jobs[n], reason)
			},
			"turn_off": func(t *rapid.T) {
				h.turnOff(t, h.pickSwitch(t))
			},
			"finish_running_job": func(t *rapid.T) {
				// A job's work is done: its switch is turned off, which
				// frees its slot for the jobs waiting (JB9, JB15).
				var running []int
				for n, j := range h.ref.jobs {
					if j.started && !j.closed {
						running = append(running, n)
					}
				}
				n := running[smPick(t, len(running), "running_job")]
				h.turnOff(t, slices.Index(h.ref.switches, h.ref.jobs[n].sw))
			},
			"advance": func(t *rapid.T) {
				h.advance(t, time.Duration(rapid.IntRange(1, 90).Draw(t, "seconds"))*time.Second)
			},
			"run_idle": func(t *rapid.T) { h.runIdle(t) },
			"": func(t *rapid.T) {
				h.checkClock(t)
				h.checkJobs(t)
				h.checkPool(t)
				h.checkSwitches(t)
				h.checkPromises(t)
			},
		})
	})
}

// checkJobs compares every job, the jobs table, the gauge and the process
// log with the reference.
func (h *smHarness) checkJobs(t *rapid.T) {
	for n, ref := range h.ref.jobs {
		j := h.jobs[n]
		want := Ready
		switch {
		case ref.closed:
			want = Closed
		case ref.started:
			want = Running
		}
		require.Equal(t, want.String(), j.State().String(), "j%d.State() (JB7)", n)
		start, started := j.StartTime()
		require.Equal(t, ref.started, started, "j%d started (JB10)", n)
		if ref.started {
			require.Equal(t, smEpoch.Add(ref.startAt), start, "j%d start time (JB10)", n)
		}
		reason, cancelled := j.Cancelled()
		require.Equal(t, ref.cancelled, cancelled, "j%d cancelled (JB13)", n)
		require.Equal(t, ref.reason, reason, "j%d cancel reason (JB13, JB15)", n)
		require.Equal(t, ref.log, j.Log(), "j%d.Log()", n)
		require.Equal(t, !ref.closed, j.LogOpen(), "j%d.LogOpen() (JB15)", n)
	}

	// Only closing removes a job from the table, and a closed job is
	// never in it (JB7).
	var wantIDs []string
	for _, ref := range h.ref.openJobs() {
		wantIDs = append(wantIDs, ref.id)
	}
	slices.Sort(wantIDs)
	var gotIDs []string
	for _, j := range h.p.OpenJobs() {
		require.NotEqual(t, Closed, j.State(), "closed job %s in OpenJobs()", j.ID())
		gotIDs = append(gotIDs, j.ID())
	}
	require.Equal(t, wantIDs, gotIDs, "OpenJobs()")

	snap := h.p.Snapshot()
	var snapIDs []string
	for _, v := range snap.Jobs {
		require.NotEqual(t, Closed, v.State, "closed job %s in Snapshot().Jobs", v.ID)
		snapIDs = append(snapIDs, v.ID)
	}
	require.Equal(t, wantIDs, snapIDs, "Snapshot().Jobs")
	require.Equal(t, len(gotIDs), h.p.Gauge(), "Gauge(), want the table's size")
	require.Equal(t, len(snap.Jobs), snap.Gauge, "Snapshot().Gauge, want len(Jobs)")
	require.Equal(t, h.ref.created, snap.Created, "Snapshot().Created")
	require.Equal(t, h.ref.closed, snap.Closed, "Snapshot().Closed")
	require.Equal(t, h.ref.warnings, h.p.ProcessLog(), "ProcessLog() (JB5)")
}
