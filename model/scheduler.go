package model

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Action is what a submission asks a worker to do: for a solve, how long
// the solver takes, the output it writes, and whether it raises.
type Action struct {
	Kind     string
	Duration time.Duration
	Output   []string
	// Raise, if not empty, makes the solve raise an exception with this
	// message once Duration is up, instead of writing Output (OC8).
	Raise string
}

// CancelledResponse is what a cancelled solve returns: the solver's
// Solve_response Error `Cancelled, as yojson writes it. The worker hands
// it back as a successful result (OC8); reading it is the client's
// business, as ocaml-ci's analysis turns it into "Job cancelled".
const CancelledResponse = `["Error",["Cancelled"]]`

// Errors of the scheduler and of the capabilities it hands out. Texts
// that OCluster fixes are kept; the two disconnections are worded by the
// model, in the "Disconnected: <reason>" form of Cap'n Proto's errors.
var (
	// ErrTicketCancelled is the failure of a job whose ticket was
	// cancelled while queued (OC7).
	ErrTicketCancelled = errors.New("Ticket cancelled")
	// ErrTicketReleased is the failure of a job whose ticket was dropped
	// while queued (OC7).
	ErrTicketReleased = errors.New("Ticket released (cancelled)")
	// ErrWorkerLost breaks the jobs of a worker that disconnected: their
	// handles answer every call with it (OC7, OC11).
	ErrWorkerLost = errors.New("Disconnected: worker connection lost")
)

// Scheduler is the OCluster scheduler: named pools, each with a queue of
// submitted items and the workers that take them. Queues live in memory
// only.
type Scheduler struct {
	proc  *Process
	pools map[string]*SchedPool
}

// SchedPool is one named pool of the scheduler.
//
// Its main queue holds the items no worker has been given, urgent ones
// first, each part in submission order. Workers pull: the scheduler gives
// an item to a worker only when the worker asks for one, which a worker
// does one item at a time while it has free capacity.
type SchedPool struct {
	sched   *Scheduler
	name    string
	queue   []*Ticket
	workers []*Worker // in the order they were added
	next    int       // the worker the next search for a puller starts at
}

// Worker is a solver worker with a capacity (OC8).
//
// Its queue holds the items the scheduler gave it and it has not started
// yet. A worker that makes progress starts an item the moment it gets it,
// so its queue is empty between events; only a hung worker keeps one
// there: the item its last pull, made before it hung, brought. When a
// worker disconnects, that queue goes back to the head of the pool's main
// queue (OC7), while the jobs it was running are lost with it. OCluster
// can also fill a busy worker's queue when an item's cache hint prefers
// that worker; ocaml-ci submits solves with no cache hint, so the model
// leaves that out.
type Worker struct {
	pool      *SchedPool
	name      string
	capacity  int
	running   int // jobs started and not finished
	jobs      int // jobs started since the worker was added: their ids
	connected bool
	hung      bool
	queue     []*Ticket    // given to the worker, not started
	live      []*RemoteJob // running, or finished and still referenced

	building string            // the first line of its jobs' logs
	results  map[string]string // by action kind, what its solves answer
}

// NewScheduler returns a scheduler with no pools.
func (p *Process) NewScheduler() *Scheduler {
	s := &Scheduler{proc: p, pools: map[string]*SchedPool{}}
	p.schedulers = append(p.schedulers, s)
	return s
}

// Serve makes p the process the scheduler reports to: the one whose fault
// hooks its sites call and whose handle count its handles join. A process
// that restarts is a new process, and the scheduler, which lives on,
// serves the new one.
func (s *Scheduler) Serve(p *Process) { s.proc = p }

// Pool returns the scheduler's pool with the given name, creating it. A
// pool with no workers keeps everything submitted to it queued for ever
// (F5).
func (s *Scheduler) Pool(name string) *SchedPool {
	if sp, ok := s.pools[name]; ok {
		return sp
	}
	sp := &SchedPool{sched: s, name: name}
	s.pools[name] = sp
	return sp
}

// Name returns the pool's name.
func (sp *SchedPool) Name() string { return sp.name }

// AddWorker connects a new worker of the given capacity to the pool.
func (sp *SchedPool) AddWorker(name string, capacity int) *Worker {
	w := &Worker{pool: sp, name: name, capacity: capacity, connected: true}
	sp.workers = append(sp.workers, w)
	sp.dispatch()
	return w
}

// Worker returns the worker added last under the given name, or nil.
func (sp *SchedPool) Worker(name string) *Worker {
	for _, w := range slices.Backward(sp.workers) {
		if w.name == name {
			return w
		}
	}
	return nil
}

// Queued returns how many items wait in the main queue. Items in a
// worker's queue are not counted.
func (sp *SchedPool) Queued() int { return len(sp.queue) }

// Workers returns the pool's workers, in the order they were added.
func (sp *SchedPool) Workers() []*Worker { return slices.Clone(sp.workers) }

// ticketState is where a submitted item stands.
type ticketState int

const (
	ticketQueued    ticketState = iota // in the main queue or a worker's
	ticketRunning                      // a worker took it
	ticketCancelled                    // removed by a cancel
	ticketReleased                     // removed when the client dropped it
	ticketFailed                       // failed by the scheduler (F2)
)

// Ticket is what the scheduler hands back for a submission: it resolves
// the job handle when a worker takes the item (OC7).
type Ticket struct {
	pool    *SchedPool
	action  Action
	urgent  bool
	state   ticketState
	worker  *Worker    // the worker whose queue holds the item, if one does
	job     *RemoteJob // once a worker took it
	err     error      // why its job failed, once it has
	owner   *Job       // the job the submission logs to, if known
	acct    account    // whom the ticket and its handle are recorded for
	handle  *sim.Promise[*Handle]
	resolve sim.Resolver[*Handle]
	watch   *submission // told of the handle or the failure, if set
}

// tell tells the submission watching the ticket, if one does, of the
// outcome of its job, just after the ticket's promise is resolved with
// it: as a callback on the promise would be, without one.
func (t *Ticket) tell(r Result[*Handle]) {
	if t.watch != nil {
		t.watch.settled(r)
	}
}

// Submit queues action on the pool and returns its ticket.
func (sp *SchedPool) Submit(action Action, urgent bool) *Ticket {
	return sp.submit(action, urgent, nil, account{})
}

// submit is Submit for a submission that logs to owner, recording the
// ticket and its handle in acct.
func (sp *SchedPool) submit(action Action, urgent bool, owner *Job, acct account) *Ticket {
	handle, resolve := sim.Wait[*Handle]()
	t := &Ticket{pool: sp, action: action, urgent: urgent, owner: owner,
		acct: acct, handle: handle, resolve: resolve}
	acct.acquire(Resource{Kind: ResTicket, Key: t, Holder: acct.conn, Detail: action.Kind})
	i := len(sp.queue)
	if urgent {
		i = sp.urgentItems()
	}
	sp.queue = slices.Insert(sp.queue, i, t)
	sp.dispatch()
	return t
}

// urgentItems returns how many items at the head of the main queue are
// urgent.
func (sp *SchedPool) urgentItems() int {
	n := 0
	for n < len(sp.queue) && sp.queue[n].urgent {
		n++
	}
	return n
}

// Job returns the promise of the job handle: fulfilled when a worker takes
// the item, rejected if the ticket is cancelled, released or failed first.
func (t *Ticket) Job() *sim.Promise[*Handle] { return t.handle }

// Cancel is the ticket's cancel (OC7). A queued item is removed and its
// job fails with "Ticket cancelled"; a running one is cancelled on its
// worker, and the answer is the worker's. A ticket whose job already
// failed has a broken job, so the cancel fails with the job's error, as
// OCluster forwards a cancel it cannot unqueue to the job.
func (t *Ticket) Cancel() *sim.Promise[Result[sim.Unit]] {
	switch t.state {
	case ticketQueued:
		t.unqueue(ticketCancelled, ErrTicketCancelled)
		return sim.Return(Ok(sim.Unit{}))
	case ticketRunning:
		return t.job.cancel()
	}
	return sim.Return(Error[sim.Unit](t.err))
}

// Release is the client dropping its ticket (OC7): a queued item is
// removed and its job fails with "Ticket released (cancelled)"; otherwise
// nothing happens.
func (t *Ticket) Release() {
	if t.state == ticketQueued {
		t.unqueue(ticketReleased, ErrTicketReleased)
	}
}

// Fail is the scheduler failing a ticket that waits for a worker (F2): the
// item is removed and its job fails with err; later cancels of the ticket
// fail with err too. It reports whether the ticket was waiting; a ticket
// whose item a worker took, or that is already gone, is left alone.
func (t *Ticket) Fail(err error) bool {
	if t.state != ticketQueued {
		return false
	}
	t.unqueue(ticketFailed, err)
	return true
}

// FailWaiting fails every ticket of the pool that waits for a worker, as
// Ticket.Fail does: first those of the main queue in order, then those in
// the workers' queues. It returns how many it failed.
func (sp *SchedPool) FailWaiting(err error) int {
	waiting := slices.Clone(sp.queue)
	for _, w := range sp.workers {
		waiting = append(waiting, w.queue...)
	}
	n := 0
	for _, t := range waiting {
		if t.Fail(err) {
			n++
		}
	}
	return n
}

// unqueue takes a queued item out of whichever queue holds it and fails
// its job with err.
func (t *Ticket) unqueue(st ticketState, err error) {
	if w := t.worker; w != nil {
		w.queue = slices.DeleteFunc(w.queue, func(x *Ticket) bool { return x == t })
		t.worker = nil
	} else {
		sp := t.pool
		sp.queue = slices.DeleteFunc(sp.queue, func(x *Ticket) bool { return x == t })
	}
	t.state, t.err = st, err
	t.acct.release(Resource{Kind: ResTicket, Key: t, Holder: t.acct.conn})
	t.resolve.Reject(err)
	t.tell(Error[*Handle](err))
}

// pushBack puts items back at the head of the main queue, each before the
// items of its urgency already there, keeping their order: they were
// taken from the queue first, so they are given out first again.
func (sp *SchedPool) pushBack(items []*Ticket) {
	var urgent, normal []*Ticket
	for _, t := range items {
		t.worker = nil
		if t.urgent {
			urgent = append(urgent, t)
		} else {
			normal = append(normal, t)
		}
	}
	n := sp.urgentItems()
	q := make([]*Ticket, 0, len(sp.queue)+len(items))
	q = append(q, urgent...)
	q = append(q, sp.queue[:n]...)
	q = append(q, normal...)
	sp.queue = append(q, sp.queue[n:]...)
}

// dispatch gives queued items to workers that ask for one, searching the
// workers round-robin so that load spreads in a fixed, deterministic
// order.
func (sp *SchedPool) dispatch() {
	for len(sp.queue) > 0 {
		w := sp.puller()
		if w == nil {
			return
		}
		t := sp.queue[0]
		sp.queue[0] = nil
		sp.queue = sp.queue[1:]
		w.assign(t)
	}
}

// puller returns the next worker, round-robin, that asks for an item.
func (sp *SchedPool) puller() *Worker {
	for i := range sp.workers {
		w := sp.workers[(sp.next+i)%len(sp.workers)]
		if w.pulling() {
			sp.next = (sp.next + i + 1) % len(sp.workers)
			return w
		}
	}
	return nil
}

// pulling reports whether the worker asks the scheduler for an item: it
// is connected, has a free slot, and holds no item it has not started.
func (w *Worker) pulling() bool {
	return w.connected && len(w.queue) == 0 && w.running < w.capacity
}

// assign puts an item in the worker's queue, and the worker starts it if
// it can.
func (w *Worker) assign(t *Ticket) {
	t.worker = w
	w.queue = append(w.queue, t)
	w.take()
}

// take starts the items of the worker's queue while it has free capacity,
// unless it is hung or gone.
func (w *Worker) take() {
	for w.connected && !w.hung && len(w.queue) > 0 && w.running < w.capacity {
		t := w.queue[0]
		// Shifted rather than resliced: the queue is short, and keeps
		// its array for the next item.
		w.queue = slices.Delete(w.queue, 0, 1)
		t.worker = nil
		w.start(t)
	}
}

// Name returns the worker's name.
func (w *Worker) Name() string { return w.name }

// Connected reports whether the worker is connected to the scheduler.
func (w *Worker) Connected() bool { return w.connected }

// Running returns how many jobs the worker has started and not finished.
func (w *Worker) Running() int { return w.running }

// Disconnect is the worker leaving the pool (F4). The items in its queue
// go back to the head of the main queue (OC7); the jobs it was running are
// lost: their handles break, so Result and Log answer with ErrWorkerLost
// (OC11), as does a cancel. The worker's slots are gone with it. A hung
// worker that disconnects is no longer hung.
func (w *Worker) Disconnect() {
	if !w.connected {
		return
	}
	sp := w.pool
	w.connected, w.hung = false, false
	queued := w.queue
	w.queue = nil
	sp.pushBack(queued)

	live := w.live
	w.live = nil
	w.running = 0
	for _, job := range live {
		job.lose(ErrWorkerLost)
	}
	sp.dispatch()
}

// Reconnect brings a disconnected worker back, with no jobs and not hung:
// a worker process that registers again under the same name. It starts
// pulling at once.
func (w *Worker) Reconnect() {
	if w.connected {
		return
	}
	w.connected = true
	w.pool.dispatch()
}

// Hang freezes the worker (F6): its jobs stop where they are and it
// answers no call, while its connection stays up, so nobody notices. A
// hung worker starts nothing; an item it asked for before it hung waits
// in its queue. Cancels and releases that reach it take effect, and calls
// are answered, only once it thaws; until then its logs stay open.
func (w *Worker) Hang() {
	if !w.connected || w.hung {
		return
	}
	w.hung = true
	now := w.sim().Elapsed()
	for _, job := range w.live {
		if job.running {
			job.left = job.due - now
			job.stopTimer()
		}
	}
}

// Unhang thaws a hung worker: each job goes on with the time it had left,
// or stops if it was cancelled or released meanwhile; calls that waited
// are answered, and the worker takes work again.
func (w *Worker) Unhang() {
	if !w.hung {
		return
	}
	w.hung = false
	live := slices.Clone(w.live)
	for _, job := range live {
		switch {
		case job.running && job.stopPending:
			job.stop()
		case job.running:
			job.run(job.left)
		}
	}
	for _, job := range live {
		job.wakeAll()
	}
	w.take()
	w.pool.dispatch()
}

func (w *Worker) sim() *sim.Sim { return w.pool.sched.proc.Sim }

// forget drops a job the worker no longer runs and nobody references.
func (w *Worker) forget(job *RemoteJob) {
	if i := slices.Index(w.live, job); i >= 0 {
		w.live = slices.Delete(w.live, i, i+1)
	}
}

// RemoteJob is a job running on a worker: its log, which clients tail, and
// its result.
type RemoteJob struct {
	ending  bool // its last lines are being written
	worker  *Worker
	id      string
	action  Action
	log     []string
	logDone bool
	readers wakeList // calls waiting for the log to grow or close
	waiters wakeList // calls waiting for the job to end or the worker to thaw

	result    *sim.Promise[Result[string]]
	setResult sim.Resolver[Result[string]]
	refs      int // handles whose reference the worker still counts

	running     bool
	due         time.Duration // when the work ends, while it runs
	left        time.Duration // work left, while the worker hangs
	timing      bool          // the work's end is due, while it runs
	timerSeq    int           // which of the job's timers is due
	stopPending bool          // stopped while the worker hangs
	lost        error         // set when the worker disconnects

	// A solve's log is short, three lines when it succeeds: it fits here,
	// so that log needs no array of its own.
	inlineLog [4]string
}

// start runs the item on the worker (OC8): it logs where it builds and
// works for the action's duration; then it writes the output and "Job
// succeeded", or "Uncaught exception: <msg>" if the solve raises, closes
// its log and frees its slot.
//
// Once the job is handed out, it passes site "solve", with the worker's
// name as detail, of both of the process's hooks: an error from Inject
// makes this solve raise with the error's text when its time is up (F1);
// then OnPass is told of the pass, with the job the submission logs to.
func (w *Worker) start(t *Ticket) {
	w.running++
	w.jobs++
	result, setResult := sim.Wait[Result[string]]()
	job := &RemoteJob{
		worker: w, id: w.jobID(), action: t.action,
		result: result, setResult: setResult, running: true,
	}
	job.log = job.inlineLog[:0]
	w.live = append(w.live, job)
	if w.building == "" {
		w.building = "Building on " + w.name
	}
	job.append(w.building)
	job.run(t.action.Duration)

	t.state, t.job = ticketRunning, job
	t.acct.release(Resource{Kind: ResTicket, Key: t, Holder: t.acct.conn})
	h := job.newHandle(t.acct)
	t.resolve.Resolve(h)
	t.tell(Ok(h))
	p := w.pool.sched.proc
	if err := p.inject(SiteSolve, w.name); err != nil {
		job.action.Raise = err.Error()
	}
	p.pass(Pass{Site: SiteSolve, Detail: w.name, Job: t.owner})
}

// result is what the worker's solves of kind answer: "<kind> done by
// <worker>", made once per kind.
func (w *Worker) result(kind string) string {
	r, ok := w.results[kind]
	if !ok {
		r = kind + " done by " + w.name
		if w.results == nil {
			w.results = map[string]string{}
		}
		w.results[kind] = r
	}
	return r
}

// jobID is the id of the worker's latest job: its name, a slash and how
// many jobs it has started.
func (w *Worker) jobID() string {
	var buf [64]byte
	b := append(append(buf[:0], w.name...), '/')
	return string(strconv.AppendInt(b, int64(w.jobs), 10))
}

// run lets the work go on for d. Its end is an event that finds out
// whether it is still the one due; stopTimer makes it not.
func (job *RemoteJob) run(d time.Duration) {
	s := job.worker.sim()
	job.due = s.Elapsed() + d
	job.timerSeq++
	job.timing = true
	seq := job.timerSeq
	s.After(d, func() {
		if job.timing && job.timerSeq == seq {
			job.timing = false
			job.complete()
		}
	})
}

// stopTimer cancels the end of the work, if it is due.
func (job *RemoteJob) stopTimer() {
	if job.timing {
		job.timing = false
		job.timerSeq++
	}
}

// complete ends the work as the solve does: with its output and "Job
// succeeded", or with the solver's exception.
func (job *RemoteJob) complete() {
	// The last lines wake the log's readers, whose reaction may release
	// the job's last handle: the job is ending already, so that must not
	// stop it a second time.
	job.ending = true
	a := job.action
	if a.Raise != "" {
		job.append("Uncaught exception: " + a.Raise)
		job.finish(Error[string](errors.New(a.Raise)))
		return
	}
	for _, line := range a.Output {
		job.append(line)
	}
	job.append("Job succeeded")
	job.finish(Ok(job.worker.result(a.Kind)))
}

// stop is the worker job's switch turning off, by a cancel or by the
// release of its last reference: the solve returns Cancelled, which the
// worker reports as a success, writing "Job succeeded" (OC8). A hung
// worker stops the job when it thaws.
func (job *RemoteJob) stop() {
	if !job.running || job.ending {
		return
	}
	if job.worker.hung {
		job.stopPending = true
		return
	}
	job.stopTimer()
	job.ending = true
	job.append("Job succeeded")
	job.finish(Ok(CancelledResponse))
}

// finish closes the log, delivers the result and frees the slot.
func (job *RemoteJob) finish(r Result[string]) {
	w := job.worker
	job.running, job.stopPending = false, false
	job.logDone = true
	w.running--
	job.setResult.Resolve(r)
	job.wakeAll()
	if job.refs == 0 {
		w.forget(job)
	}
	w.take()
	w.pool.dispatch()
}

// lose breaks the job: its worker is gone.
func (job *RemoteJob) lose(err error) {
	job.lost = err
	job.stopTimer()
	if job.running && !job.ending {
		job.running, job.stopPending = false, false
		job.setResult.Resolve(Error[string](err))
	}
	job.wakeAll()
}

func (job *RemoteJob) append(line string) {
	job.log = append(job.log, line)
	job.wakeReaders()
}

// wait returns a promise fulfilled by the job's end, its loss or its
// worker's thaw; with log, by its next line too.
func (job *RemoteJob) wait(log bool) (*sim.Promise[sim.Unit], *wakeup) {
	p, wk := newWakeup()
	job.register(wk, log)
	return p, wk
}

// register adds wk to the calls the job wakes: with log, to its log's
// readers, else to those waiting for its end.
func (job *RemoteJob) register(wk *wakeup, log bool) {
	if log {
		job.readers.add(wk)
	} else {
		job.waiters.add(wk)
	}
}

// wakeReaders wakes the calls waiting for the log.
func (job *RemoteJob) wakeReaders() { job.readers.wakeAll() }

// wakeAll wakes every call waiting on the job.
func (job *RemoteJob) wakeAll() {
	job.readers.wakeAll()
	job.waiters.wakeAll()
}

// wakeList is the calls waiting for one thing, in the order they began
// to wait: first, then the others. Waking them empties it; a call that
// begins to wait while they are woken is kept for the next time. Most
// lists hold one call at a time, as a log's reader that waits again and
// again, so the first is kept apart and costs the heap nothing.
type wakeList struct {
	first *wakeup
	more  []*wakeup
}

func (l *wakeList) add(wk *wakeup) {
	if l.first == nil {
		l.first = wk
		return
	}
	l.more = append(l.more, wk)
}

func (l *wakeList) wakeAll() {
	first, more := l.first, l.more
	l.first, l.more = nil, nil
	if first != nil {
		first.wake()
	}
	for _, w := range more {
		w.wake()
	}
}

// cancel is the worker answering a cancel of the job: it stops the job,
// or fails if the worker is gone. A hung worker answers once it thaws.
func (job *RemoteJob) cancel() *sim.Promise[Result[sim.Unit]] {
	if job.lost != nil {
		return sim.Return(Error[sim.Unit](job.lost))
	}
	if job.worker.hung {
		p, _ := job.wait(false)
		return sim.Bind(p, func(sim.Unit) *sim.Promise[Result[sim.Unit]] { return job.cancel() })
	}
	job.stop()
	return sim.Return(Ok(sim.Unit{}))
}

// unref drops one reference; the last one stops the job (OC8).
func (job *RemoteJob) unref() {
	job.refs--
	switch {
	case job.refs > 0:
	case job.running:
		job.stop()
	default:
		job.worker.forget(job)
	}
}

// wakeup ends one wait, once, whichever of the things it waits for comes
// first: it resolves the wait's promise or, for a wait that is an object
// of its own (a log's tail, a wait for the result), tells that object.
type wakeup struct {
	r    sim.Resolver[sim.Unit]
	then waker
	done bool
}

// waker is a wait that reacts to its wakeup itself, without a promise.
type waker interface{ woken() }

func newWakeup() (*sim.Promise[sim.Unit], *wakeup) {
	p, r := sim.Wait[sim.Unit]()
	return p, &wakeup{r: r}
}

func (w *wakeup) wake() {
	if w.done {
		return
	}
	w.done = true
	if w.then != nil {
		w.then.woken()
		return
	}
	w.r.Resolve(sim.Unit{})
}

// Handle is a reference to a capability for a remote job (OC1). Every
// handle must be released; one that is not stays counted by the process.
//
// A handle breaks when the worker of its job disconnects, or when the
// connection it came through is lost: from then on Result, Log and Cancel
// answer with the error (OC11). A broken handle must still be released.
type Handle struct {
	job      *RemoteJob
	proc     *Process
	conn     *Connection // the connection it came through, if any
	epoch    int         // the connection's epoch when it came
	released bool
	dropped  bool      // the worker no longer counts this reference
	broken   error     // set when its connection is lost
	waiters  []*wakeup // its calls waiting on the job, some of them done
	acct     account   // whom the handle is recorded for

	// The usual calls, a result and a log's tail, fit here, so that
	// waiters needs no array of its own.
	inline [2]*wakeup
}

// newHandle makes a handle to the job, recorded in acct.
func (job *RemoteJob) newHandle(acct account) *Handle {
	job.refs++
	p := job.worker.pool.sched.proc
	p.handles++
	h := &Handle{job: job, proc: p, acct: acct}
	h.waiters = h.inline[:0]
	acct.acquire(Resource{Kind: ResHandle, Key: h, Holder: p, Detail: job.id})
	acct.acquire(Resource{Kind: ResHandleRef, Key: h, Holder: job})
	return h
}

// Release drops the reference. Dropping the last one stops the remote job
// if it is still running (OC8). Releasing twice is a bug and panics.
func (h *Handle) Release() {
	if h.released {
		panic("model: handle released twice")
	}
	h.released = true
	h.proc.handles--
	h.acct.release(Resource{Kind: ResHandle, Key: h, Holder: h.proc})
	if h.conn != nil {
		h.conn.forget(h)
	}
	h.drop()
}

// drop gives the worker's reference back, once.
func (h *Handle) drop() {
	if !h.dropped {
		h.dropped = true
		h.job.unref()
		h.acct.release(Resource{Kind: ResHandleRef, Key: h, Holder: h.job})
	}
}

// Problem returns why the handle is broken, or nil if it is not, as
// Capability.problem does.
func (h *Handle) Problem() error {
	if h.broken != nil {
		return h.broken
	}
	return h.job.lost
}

// breakWith breaks the handle: its connection was lost. Waiting calls
// answer with err, and the scheduler, which lost the client, drops the
// reference to the job.
func (h *Handle) breakWith(err error) {
	if h.broken != nil {
		return
	}
	h.broken = err
	waiters := h.waiters
	h.waiters = nil
	for _, w := range waiters {
		w.wake()
	}
	h.drop()
}

// wait is the job's wait, fulfilled by the handle breaking too.
func (h *Handle) wait(log bool) *sim.Promise[sim.Unit] {
	p, wk := newWakeup()
	h.await(wk, log)
	return p
}

// await makes wk wait as wait's promise would. A wakeup that has been
// woken may wait again: its earlier turn is forgotten first.
func (h *Handle) await(wk *wakeup, log bool) {
	h.waiters = slices.DeleteFunc(h.waiters, func(w *wakeup) bool { return w.done })
	wk.done = false
	h.job.register(wk, log)
	h.waiters = append(h.waiters, wk)
}

// answering reports whether the job's worker answers calls now.
func (h *Handle) answering() bool { return !h.job.worker.hung }

// Result is the remote job's result, or the handle's problem if it breaks
// first.
func (h *Handle) Result() *sim.Promise[Result[string]] {
	if r, ok := h.resultNow(); ok {
		if r.Err != nil {
			return sim.Return(r)
		}
		return h.job.result
	}
	p, resolve := sim.Wait[Result[string]]()
	rw := &resultWait{h: h, resolve: resolve}
	rw.wk.then = rw
	h.await(&rw.wk, false)
	return p
}

// resultNow is the answer Result gives if it can give one now: the
// handle's problem, or the result once the job has one and its worker
// answers.
func (h *Handle) resultNow() (Result[string], bool) {
	if err := h.Problem(); err != nil {
		return Error[string](err), true
	}
	if h.answering() && !h.job.result.IsPending() {
		r, _ := h.job.result.Result()
		return r, true
	}
	return Result[string]{}, false
}

// resultWait is a call to Result waiting for its answer: woken by the
// job's end, the worker's thaw or the handle breaking, it answers if it
// can, else waits again.
type resultWait struct {
	h       *Handle
	wk      wakeup
	resolve sim.Resolver[Result[string]]
}

func (rw *resultWait) woken() {
	if r, ok := rw.h.resultNow(); ok {
		rw.resolve.Resolve(r)
		return
	}
	rw.h.await(&rw.wk, false)
}

// Cancel asks the worker to cancel the job. Through a connection, the call
// takes the connection's RPC time and fails if the connection is lost
// before the answer (OC9).
func (h *Handle) Cancel() *sim.Promise[Result[sim.Unit]] {
	cancel := func() *sim.Promise[Result[sim.Unit]] {
		if err := h.Problem(); err != nil {
			return sim.Return(Error[sim.Unit](err))
		}
		return h.job.cancel()
	}
	if h.conn == nil || h.Problem() != nil {
		return cancel()
	}
	return h.conn.call(h.epoch, cancel)
}

// LogChunk is a piece of a remote log read from an offset: Data is empty
// once the log is closed and fully read. Data shares the remote log's
// lines and must not be modified.
type LogChunk struct {
	Data []string
	Next int
}

// Log returns the remote log from offset start, waiting until there is
// something past it or the log is closed, or the handle breaks.
func (h *Handle) Log(start int) *sim.Promise[Result[LogChunk]] {
	if err := h.Problem(); err != nil {
		return sim.Return(Error[LogChunk](err))
	}
	job := h.job
	if h.answering() && (start < len(job.log) || job.logDone) {
		// The log only grows, so the chunk can share its lines; the
		// capacity is cut so that appending to the chunk copies.
		n := len(job.log)
		return sim.Return(Ok(LogChunk{Data: job.log[start:n:n], Next: n}))
	}
	return sim.Bind(h.wait(true), func(sim.Unit) *sim.Promise[Result[LogChunk]] { return h.Log(start) })
}

// WithRef is Capability.with_ref (CI3): it runs f on h and releases h when
// f's promise is resolved, whatever the outcome.
func WithRef[T any](h *Handle, f func(*Handle) *sim.Promise[T]) *sim.Promise[T] {
	return sim.Finalize(
		func() *sim.Promise[T] { return f(h) },
		func() *sim.Promise[sim.Unit] {
			h.Release()
			return sim.Done()
		})
}

// SchedPoolView is one scheduler pool as a snapshot shows it.
type SchedPoolView struct {
	Name    string
	Queued  int // items in the main queue
	Workers []WorkerView
}

// WorkerView is one worker as a snapshot shows it.
type WorkerView struct {
	Name      string
	Capacity  int
	Running   int
	Queued    int // items given to it and not started
	Connected bool
	Hung      bool
}

// View returns the scheduler's pools, sorted by name, each with its
// workers in the order they were added.
func (s *Scheduler) View() []SchedPoolView {
	names := make([]string, 0, len(s.pools))
	for name := range s.pools {
		names = append(names, name)
	}
	slices.SortFunc(names, strings.Compare)
	out := make([]SchedPoolView, 0, len(names))
	for _, name := range names {
		sp := s.pools[name]
		v := SchedPoolView{Name: name, Queued: len(sp.queue)}
		for _, w := range sp.workers {
			v.Workers = append(v.Workers, WorkerView{
				Name: w.name, Capacity: w.capacity, Running: w.running,
				Queued: len(w.queue), Connected: w.connected, Hung: w.hung,
			})
		}
		out = append(out, v)
	}
	return out
}
