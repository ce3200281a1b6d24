package model

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// ErrConnectionLost breaks every capability that came through a
// connection to the scheduler when the connection is lost, and fails the
// calls in flight on it (OC6, OC11).
var ErrConnectionLost = errors.New("Disconnected: scheduler connection lost")

// Connection is the OCluster plugin's Connection.t: the one connection to
// the scheduler that every submission of the process shares.
//
// Disconnect and Reconnect are the connection breaking and coming back
// (F3, F5). While it is down, submissions in Init retry every RetryEvery;
// when it breaks, the tickets and handles that came through it break with
// ErrConnectionLost and the scheduler drops them, as it drops everything a
// lost client held.
type Connection struct {
	proc  *Process
	sched *Scheduler
	up    bool
	epoch int // how many times the connection was lost

	// RPC is the time one call to the scheduler takes.
	RPC time.Duration
	// RetryEvery is how long Init waits before trying a scheduler that is
	// down again (OC3).
	RetryEvery time.Duration
	// MaxPipeline is how many submissions per pool name and urgency may be
	// between Rate_limit and Got_worker at once (OC3).
	MaxPipeline int

	pipelines map[pipelineKey]*pipeline
	waiting   []*submission  // in Get_ticket, waiting for a worker, oldest first
	tickets   []*Ticket      // tickets the process holds, oldest first
	handles   []*Handle      // handles it holds, not released, oldest first
	calls     []*pendingCall // calls that may be in flight
}

type pipelineKey struct {
	pool   string
	urgent bool
}

// NewConnection connects to sched with the plugin's defaults: a 10 s retry
// and a pipeline of 200. The connection starts up; the plugin's starts
// unconnected, so that its first submission logs "Connecting to build
// cluster…" even when the scheduler is there, a line the model leaves out.
func (p *Process) NewConnection(sched *Scheduler) *Connection {
	c := &Connection{
		proc: p, sched: sched, up: true,
		RPC: 5 * time.Millisecond, RetryEvery: 10 * time.Second, MaxPipeline: 200,
		pipelines: map[pipelineKey]*pipeline{},
	}
	p.connections = append(p.connections, c)
	return c
}

// Up reports whether the connection to the scheduler works.
func (c *Connection) Up() bool { return c.up }

// Disconnect breaks the connection, if it is up. In one step: the calls in
// flight fail with ErrConnectionLost; every submission waiting for a
// worker sees its wait break, and goes back to Init once the plugin
// notices the connection is down (OC6); the scheduler drops the process's
// tickets, so their items leave its queues; and every handle that came
// through the connection breaks (OC11), the scheduler dropping its
// reference to the job, which stops the job if it was the last.
func (c *Connection) Disconnect() {
	if !c.up {
		return
	}
	c.up = false
	c.epoch++

	calls := c.calls
	c.calls = nil
	for _, pc := range calls {
		pc.answer(Error[sim.Unit](ErrConnectionLost))
	}
	waiting := c.waiting
	c.waiting = nil
	for _, sub := range waiting {
		sub.settled(Error[*Handle](ErrConnectionLost))
	}
	tickets := c.tickets
	c.tickets = nil
	for _, t := range tickets {
		t.Release()
	}
	for _, h := range slices.Clone(c.handles) {
		h.breakWith(ErrConnectionLost)
	}
}

// Reconnect brings the connection back. Capabilities from before the
// break stay broken; submissions in Init find the scheduler at their next
// try.
func (c *Connection) Reconnect() { c.up = true }

// pendingCall is a call to the scheduler waiting for its answer.
type pendingCall struct {
	r    sim.Resolver[Result[sim.Unit]]
	done bool
}

func (pc *pendingCall) answer(v Result[sim.Unit]) {
	if !pc.done {
		pc.done = true
		pc.r.Resolve(v)
	}
}

// call makes a call over the connection as it was in epoch: op runs at
// the scheduler RPC later and its answer is the call's. The call fails
// with ErrConnectionLost at once if that connection is already lost, or
// when it is lost before the answer comes.
func (c *Connection) call(epoch int, op func() *sim.Promise[Result[sim.Unit]]) *sim.Promise[Result[sim.Unit]] {
	if !c.up || c.epoch != epoch {
		return sim.Return(Error[sim.Unit](ErrConnectionLost))
	}
	p, r := sim.Wait[Result[sim.Unit]]()
	pc := &pendingCall{r: r}
	c.calls = slices.DeleteFunc(c.calls, func(x *pendingCall) bool { return x.done })
	c.calls = append(c.calls, pc)
	sim.On(c.proc.Sim.Sleep(c.RPC), func(sim.Unit, error) {
		if !pc.done {
			sim.On(op(), func(v Result[sim.Unit], _ error) { pc.answer(v) })
		}
	})
	return p
}

// adopt records a handle that came through the connection.
func (c *Connection) adopt(h *Handle, epoch int) {
	h.conn, h.epoch = c, epoch
	c.handles = append(c.handles, h)
}

// forget drops a released handle.
func (c *Connection) forget(h *Handle) {
	if i := slices.Index(c.handles, h); i >= 0 {
		c.handles = slices.Delete(c.handles, i, i+1)
	}
}

// dropTicket drops a ticket the process holds: Capability.dec_ref.
func (c *Connection) dropTicket(t *Ticket) {
	if i := slices.Index(c.tickets, t); i >= 0 {
		c.tickets = slices.Delete(c.tickets, i, i+1)
		t.Release()
	}
}

// pipeline is the rate limit of one pool name and urgency: a counting
// semaphore with a FIFO of waiters.
type pipeline struct {
	conn    *Connection
	key     pipelineKey
	used    int
	waiters []*pipelineWait
}

type pipelineWait struct {
	sub  *submission // the submission waiting
	gone bool
}

func (c *Connection) pipeline(k pipelineKey) *pipeline {
	pl, ok := c.pipelines[k]
	if !ok {
		pl = &pipeline{conn: c, key: k}
		c.pipelines[k] = pl
	}
	return pl
}

// acquire asks for a slot of pl for w's submission: at once if one is
// free, else when one is given back.
func (c *Connection) acquire(pl *pipeline, w *pipelineWait) {
	if pl.used < c.MaxPipeline {
		c.grant(pl, w)
		return
	}
	pl.waiters = append(pl.waiters, w)
}

// grant gives a slot of pl to the waiter w, whose submission goes on.
func (c *Connection) grant(pl *pipeline, w *pipelineWait) {
	pl.used++
	if l := c.proc.Ledger; l != nil {
		l.Acquire(Resource{Kind: ResPipeline, Key: w.sub, Holder: pl}, w.sub.job)
	}
	w.sub.slotGranted(pl)
}

// release gives back the slot of pl that sub holds, and hands it on.
func (c *Connection) release(pl *pipeline, sub *submission) {
	pl.used--
	if l := c.proc.Ledger; l != nil {
		l.Release(Resource{Kind: ResPipeline, Key: sub, Holder: pl})
	}
	for len(pl.waiters) > 0 && pl.used < c.MaxPipeline {
		w := pl.waiters[0]
		pl.waiters = pl.waiters[1:]
		if w.gone {
			continue
		}
		c.grant(pl, w)
	}
}

// Stage is where a submission through the plugin pool stands (OC3).
type Stage int

const (
	StageInit Stage = iota
	StageRateLimit
	StageGetTicket
	StageGotWorker
)

var stageNames = [...]string{"Init", "Rate_limit", "Get_ticket", "Got_worker"}

func (s Stage) String() string { return stageNames[s] }

// ClusterPool is the pool that Connection.pool ~job ~pool ~action makes:
// its resource is a handle to a job already running on a worker (OC1).
type ClusterPool struct {
	conn   *Connection
	job    *Job
	pool   string
	action Action
}

// Pool is Connection.pool: a pool labelled "OCluster" that submits action
// to the scheduler's pool named pool, logging to job (OC2).
func (c *Connection) Pool(job *Job, pool string, action Action) *ClusterPool {
	return &ClusterPool{conn: c, job: job, pool: pool, action: action}
}

// Label is "OCluster".
func (cp *ClusterPool) Label() string { return "OCluster" }

// ErrCancelledWaiting is the rejection of a submission cancelled before it
// got a ticket (OC5).
var ErrCancelledWaiting = errors.New("Cancelled")

// submission is one request through a ClusterPool. It moves from stage
// to stage through callbacks: each stage's wait (the scheduler's answer,
// a pipeline slot, the ticket's job, a pause) calls the next step, at the
// moment a Bind on the wait's promise would run it. The steps never fail
// the way a promise is rejected: a submission ends by resolving its
// request, or by waiting for ever.
type submission struct {
	cp        *ClusterPool
	job       *Job // the job it was made for, for the ledger
	resolve   sim.Resolver[*Handle]
	wait      *pipelineWait // while waiting for a pipeline slot: &slot
	ticket    *Ticket
	stage     Stage
	epoch     int // the connection's epoch when Init got the scheduler
	urgent    bool
	done      bool // the request is fulfilled or rejected
	cancelled bool // cancel was called: a return to Init rejects (OC5)

	// In Init: whether "Connecting to build cluster…" was logged since
	// Init was entered, and the connection's epoch when the call to the
	// scheduler went out.
	logged   bool
	rpcEpoch int

	// In Get_ticket: the pipeline whose slot it holds; settling while it
	// waits for the first of the handle, the job's failure or the
	// connection's loss, which is then kept in outcome; armed once the
	// wait is set up, so that an outcome that comes while it is set up is
	// taken only then.
	settling bool
	armed    bool
	pl       *pipeline
	outcome  Result[*Handle]

	slot pipelineWait // its wait for a pipeline slot
}

// Get submits the pool's action. It ignores sw: turning the caller's
// switch off releases nothing (OC1). High priority maps to urgent (OC4).
//
// Before the submission starts, the process's OnPass hook is told of a
// pass through site "submit", with the action's kind and the outer job.
func (cp *ClusterPool) Get(prio Priority, sw *Switch) (*sim.Promise[*Handle], func() *sim.Promise[sim.Unit]) {
	return cp.getFor(cp.job, prio, sw)
}

// getFor is Get for job: what the submission takes, from its pipeline
// slot to the handle, is recorded for job.
func (cp *ClusterPool) getFor(job *Job, prio Priority, _ *Switch) (*sim.Promise[*Handle], func() *sim.Promise[sim.Unit]) {
	res, resolve := sim.Wait[*Handle]()
	sub := &submission{cp: cp, job: job, urgent: prio == High, resolve: resolve}
	p := cp.conn.proc
	p.pass(Pass{Site: SiteSubmit, Detail: cp.action.Kind, Job: cp.job})
	sub.init()
	return res, sub.cancel
}

func (sub *submission) fail(err error) {
	if !sub.done {
		sub.done = true
		sub.resolve.Reject(err)
	}
}

// logf writes one of the plugin's lines to the outer job (OC2). A line
// that cannot be written fails the submission with the write's error, as
// the OCaml write raises out of it; it reports whether the line was
// written.
func (sub *submission) logf(format string, args ...any) bool {
	if err := sub.cp.job.Logf(format, args...); err != nil {
		sub.fail(err)
		return false
	}
	return true
}

// init gets the scheduler over the shared connection, retrying every
// RetryEvery while it is down and logging "Connecting to build cluster…"
// once per entry into Init (OC3). A submission cancelled earlier, which
// comes back to Init after a lost connection, is rejected here, after the
// log line as in the plugin; where the plugin leaves it to chance whether
// a connected scheduler or the cancel wins, the cancel does.
//
// The plugin keeps one reconnection loop for all submissions, which join
// it; here each submission in Init retries on its own clock, so after
// Reconnect each finds the scheduler at its own next try, at most
// RetryEvery later.
func (sub *submission) init() {
	sub.stage = StageInit
	sub.logged = false
	sub.tryInit()
}

// tryInit is one try of Init: the call to the scheduler goes out, or the
// submission waits for the next retry, or it ends.
func (sub *submission) tryInit() {
	c := sub.cp.conn
	if sub.done {
		return
	}
	if !c.up && !sub.logged {
		if !sub.logf("Connecting to build cluster…") {
			return
		}
		sub.logged = true
	}
	if sub.cancelled {
		sub.fail(ErrCancelledWaiting)
		return
	}
	if c.proc.stopped {
		sub.fail(ErrProcessStopped)
		return
	}
	if !c.up {
		sub.retryLater()
		return
	}
	sub.rpcEpoch = c.epoch
	c.proc.Sim.After(c.RPC, sub.answered)
}

// answered is the scheduler's answer to Init's call, RPC after it went
// out: if the connection was lost meanwhile, Init tries again.
func (sub *submission) answered() {
	c := sub.cp.conn
	switch {
	case sub.done:
		return
	case !c.up || c.epoch != sub.rpcEpoch:
		sub.tryInit() // lost while the scheduler answered
		return
	}
	sub.epoch = sub.rpcEpoch
	sub.rateLimit()
}

// retryLater tries Init again at the first retry, every RetryEvery, that
// finds the connection up, the submission over or cancelled, or the
// process stopped.
// It polls from callbacks rather than a chain of promises, so an outage of
// any length retains nothing per retry.
func (sub *submission) retryLater() {
	c := sub.cp.conn
	s := c.proc.Sim
	var poll func()
	poll = func() {
		if c.up || sub.done || sub.cancelled || c.proc.stopped {
			sub.tryInit()
			return
		}
		s.After(c.RetryEvery, poll)
	}
	s.After(c.RetryEvery, poll)
}

// rateLimit waits for one of the pipeline's slots (OC3); the pipeline
// calls slotGranted with it.
func (sub *submission) rateLimit() {
	c := sub.cp.conn
	sub.stage = StageRateLimit
	pl := c.pipeline(pipelineKey{sub.cp.pool, sub.urgent})
	// A wait left behind in the queue is one that was cancelled, after
	// which the submission never waits again; so the one wait is reused.
	sub.slot = pipelineWait{sub: sub}
	sub.wait = &sub.slot
	c.acquire(pl, sub.wait)
}

// slotGranted goes on once the submission has a slot of pl. A slot that
// comes after the connection was lost is given back, and the submission
// goes back to Init as one whose ticket broke (OC6).
func (sub *submission) slotGranted(pl *pipeline) {
	c := sub.cp.conn
	sub.wait = nil
	switch {
	case sub.done:
		c.release(pl, sub)
		return
	case !c.up || c.epoch != sub.epoch:
		c.release(pl, sub)
		sub.afterError(ErrConnectionLost)
		return
	}
	sub.getTicket(pl)
}

// getTicket submits the action, logs that it waits for a worker, and
// resolves the request with the job handle once a worker takes it (OC3).
// The pipeline slot is held until the wait ends, either way. The plugin
// logs "Waiting for worker…" once the scheduler has answered the
// submission; the model logs it at once.
//
// A ticket that still waits for a worker is a site, "ticket", with the
// action's kind as detail, of both of the process's hooks: an error from
// Inject is the scheduler failing the ticket while connected (F2); then,
// if it still waits, OnPass is told of the pass, with the outer job.
func (sub *submission) getTicket(pl *pipeline) {
	c := sub.cp.conn
	sub.stage = StageGetTicket
	acct := account{ledger: c.proc.Ledger, job: sub.job, conn: c}
	t := c.sched.Pool(sub.cp.pool).submit(sub.cp.action, sub.urgent, sub.cp.job, acct)
	sub.ticket = t
	c.tickets = append(c.tickets, t)
	if !sub.logf("Waiting for worker…") {
		// As the plugin's raise: the slot is given back, while the ticket
		// stays at the scheduler, held and never read.
		c.release(pl, sub)
		return
	}

	sub.pl, sub.settling, sub.armed = pl, true, false
	c.waiting = append(c.waiting, sub)
	if t.Job().IsPending() {
		t.watch = sub
	} else {
		h, err := t.Job().Result()
		if err != nil {
			sub.settled(Error[*Handle](err))
		} else {
			sub.settled(Ok(h))
		}
	}
	if t.Job().IsPending() {
		if err := c.proc.inject(SiteTicket, sub.cp.action.Kind); err != nil {
			t.Fail(err)
		}
	}
	if t.Job().IsPending() {
		c.proc.pass(Pass{Site: SiteTicket, Detail: sub.cp.action.Kind, Job: sub.cp.job})
	}
	sub.armed = true
	if !sub.settling {
		sub.gotOutcome()
	}
}

// settled ends the wait for the ticket's job with r, if it still waits. A
// handle that comes after the wait ended has nobody to take it and is
// released, so that the count of handles stays exact.
func (sub *submission) settled(r Result[*Handle]) {
	if !sub.settling {
		if r.Err == nil {
			r.Value.Release()
		}
		return
	}
	sub.settling = false
	sub.outcome = r
	if sub.armed {
		sub.gotOutcome()
	}
}

// gotOutcome ends Get_ticket with the outcome of the wait: the slot is
// given back, and the handle handed on, or the error dealt with.
func (sub *submission) gotOutcome() {
	c := sub.cp.conn
	r, pl := sub.outcome, sub.pl
	sub.outcome, sub.pl = Result[*Handle]{}, nil
	c.release(pl, sub)
	if i := slices.Index(c.waiting, sub); i >= 0 {
		c.waiting = slices.Delete(c.waiting, i, i+1)
	}
	if r.Err != nil {
		sub.afterError(r.Err)
		return
	}
	sub.gotWorker(r.Value)
}

// gotWorker drops the ticket and hands the handle to the caller (OC3).
// The submission is then over, and keeps nothing: a cancel in this stage
// does nothing, and no other step of it runs again. A job whose cancel
// hook is never run, as a leaked one, keeps only the bare submission.
func (sub *submission) gotWorker(h *Handle) {
	c := sub.cp.conn
	sub.stage = StageGotWorker
	c.dropTicket(sub.ticket)
	c.adopt(h, sub.epoch)
	sub.done = true
	sub.resolve.Resolve(h)
	sub.resolve, sub.ticket, sub.cp, sub.job = sim.Resolver[*Handle]{}, nil, nil, nil
}

// afterError is OC6: after a pause, if the connection the submission got
// the scheduler through is still up, the wait fails with err and the stage
// stays Get_ticket, the ticket kept, so that a later cancel still goes to
// it. If the connection was lost, the ticket is dropped and the submission
// goes back to Init, to be submitted again without the caller noticing.
// The plugin checks after a pause, as here, and fails with the error's
// printed form ("Failed: Ticket cancelled"); the model keeps the error
// itself, so that its text is the scheduler's ("Ticket cancelled").
func (sub *submission) afterError(err error) {
	c := sub.cp.conn
	c.proc.Sim.After(0, func() { // a pause: after what is due now
		switch {
		case sub.done:
			return
		case c.up && c.epoch == sub.epoch:
			sub.fail(err)
			return
		}
		if sub.ticket != nil {
			c.dropTicket(sub.ticket)
			sub.ticket = nil
		}
		sub.init()
	})
}

// cancel cancels the submission as its stage allows (OC5). In Init and
// Rate_limit the wait is rejected. In Get_ticket the ticket is cancelled,
// a call to the scheduler; if the call fails, because the scheduler
// cannot be reached or answers with an error, "Cancel ticket failed:
// <error>" is logged to the outer job. Once a worker is assigned, nothing
// happens. In every stage the submission is marked cancelled, so that it
// is rejected if a lost connection brings it back to Init.
func (sub *submission) cancel() *sim.Promise[sim.Unit] {
	sub.cancelled = true
	switch sub.stage {
	case StageInit, StageRateLimit:
		if sub.wait != nil {
			sub.wait.gone = true
			sub.wait = nil
		}
		sub.fail(ErrCancelledWaiting)
	case StageGetTicket:
		job := sub.cp.job
		answer := sub.cp.conn.call(sub.epoch, sub.ticket.Cancel)
		return sim.Bind(answer, func(r Result[sim.Unit]) *sim.Promise[sim.Unit] {
			if r.Err == nil {
				return sim.Done()
			}
			if err := job.Logf("Cancel ticket failed: %v", r.Err); err != nil {
				return sim.Fail[sim.Unit](err)
			}
			return sim.Done()
		})
	}
	return sim.Done()
}

// ConnectionView is the connection as a snapshot shows it.
type ConnectionView struct {
	Up        bool
	Lost      int            // how many times it was lost
	Pipelines []PipelineView // sorted by pool, not urgent before urgent
	Waiting   int            // submissions waiting for a worker
	Handles   int            // handles that came through it, not released
	Broken    int            // of those, how many are broken
}

// PipelineView is the rate limit of one pool name and urgency.
type PipelineView struct {
	Pool    string
	Urgent  bool
	Used    int // slots held
	Waiting int // submissions waiting for a slot
}

// View returns the connection's state.
func (c *Connection) View() ConnectionView {
	v := ConnectionView{Up: c.up, Lost: c.epoch, Waiting: len(c.waiting), Handles: len(c.handles)}
	for _, h := range c.handles {
		if h.Problem() != nil {
			v.Broken++
		}
	}
	for k, pl := range c.pipelines {
		pv := PipelineView{Pool: k.pool, Urgent: k.urgent, Used: pl.used}
		for _, w := range pl.waiters {
			if !w.gone {
				pv.Waiting++
			}
		}
		v.Pipelines = append(v.Pipelines, pv)
	}
	slices.SortFunc(v.Pipelines, func(a, b PipelineView) int {
		if n := strings.Compare(a.Pool, b.Pool); n != 0 {
			return n
		}
		return cmpBool(a.Urgent, b.Urgent)
	})
	return v
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	x, y := 0, 0
	if a {
		x = 1
	}
	if b {
		y = 1
	}
	return cmp.Compare(x, y)
}
