package model

import (
	"errors"
	"fmt"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Action is what a submission asks a worker to do: for a solve, how long
// the solver takes and the output it writes.
type Action struct {
	Kind     string
	Duration time.Duration
	Output   []string
}

// Scheduler is the OCluster scheduler: named pools, each with a queue of
// submitted items and the workers that take them. Queues live in memory
// only.
type Scheduler struct {
	proc  *Process
	pools map[string]*SchedPool
}

// SchedPool is one named pool of the scheduler.
type SchedPool struct {
	sched   *Scheduler
	name    string
	queue   []*Ticket // urgent items first, each part in submission order
	workers []*Worker
	next    int // the worker the next search for free capacity starts at
}

// Worker is a solver worker with a capacity (OC8).
type Worker struct {
	pool     *SchedPool
	name     string
	capacity int
	running  int
	jobs     int
}

// NewScheduler returns a scheduler with no pools.
func (p *Process) NewScheduler() *Scheduler {
	return &Scheduler{proc: p, pools: map[string]*SchedPool{}}
}

// Pool returns the scheduler's pool with the given name, creating it.
func (s *Scheduler) Pool(name string) *SchedPool {
	if sp, ok := s.pools[name]; ok {
		return sp
	}
	sp := &SchedPool{sched: s, name: name}
	s.pools[name] = sp
	return sp
}

// AddWorker connects a worker of the given capacity to the pool.
func (sp *SchedPool) AddWorker(name string, capacity int) *Worker {
	w := &Worker{pool: sp, name: name, capacity: capacity}
	sp.workers = append(sp.workers, w)
	sp.dispatch()
	return w
}

// Queued returns how many items wait for a worker.
func (sp *SchedPool) Queued() int { return len(sp.queue) }

// ticketState is where a submitted item stands.
type ticketState int

const (
	ticketQueued ticketState = iota
	ticketAssigned
	ticketCancelled
)

// Ticket is what the scheduler hands back for a submission: it resolves
// the job handle when a worker takes the item (OC7).
type Ticket struct {
	pool    *SchedPool
	action  Action
	urgent  bool
	state   ticketState
	handle  *sim.Promise[*Handle]
	resolve sim.Resolver[*Handle]
}

// Submit queues action on the pool and returns its ticket.
func (sp *SchedPool) Submit(action Action, urgent bool) *Ticket {
	handle, resolve := sim.Wait[*Handle]()
	t := &Ticket{pool: sp, action: action, urgent: urgent, handle: handle, resolve: resolve}
	i := len(sp.queue)
	if urgent {
		for i = 0; i < len(sp.queue) && sp.queue[i].urgent; i++ {
		}
	}
	sp.queue = append(sp.queue, nil)
	copy(sp.queue[i+1:], sp.queue[i:])
	sp.queue[i] = t
	sp.dispatch()
	return t
}

// Job returns the promise of the job handle: fulfilled when a worker takes
// the item, rejected if the ticket is cancelled first.
func (t *Ticket) Job() *sim.Promise[*Handle] { return t.handle }

// ErrTicketCancelled is the failure of a job whose ticket was cancelled
// while queued (OC7).
var ErrTicketCancelled = errors.New("Ticket cancelled")

// Cancel is the ticket's cancel (OC7): a queued item is removed and its job
// fails with "Ticket cancelled"; a running one is cancelled on its worker.
func (t *Ticket) Cancel() *sim.Promise[Result[sim.Unit]] {
	switch t.state {
	case ticketQueued:
		t.pool.remove(t)
		t.state = ticketCancelled
		t.resolve.Reject(ErrTicketCancelled)
	case ticketAssigned:
		h, _ := t.handle.Result()
		h.job.cancel()
	}
	return sim.Return(Ok(sim.Unit{}))
}

// Release is the client dropping its ticket (OC7): a queued item is
// removed; a running one is left alone.
func (t *Ticket) Release() {
	if t.state == ticketQueued {
		t.pool.remove(t)
		t.state = ticketCancelled
		t.resolve.Reject(errors.New("Ticket released (cancelled)"))
	}
}

func (sp *SchedPool) remove(t *Ticket) {
	for i, x := range sp.queue {
		if x == t {
			sp.queue = append(sp.queue[:i], sp.queue[i+1:]...)
			return
		}
	}
}

// dispatch hands queued items to workers with free capacity, searching
// the workers round-robin so that load spreads in a fixed, deterministic
// order.
func (sp *SchedPool) dispatch() {
	for len(sp.queue) > 0 {
		w := sp.freeWorker()
		if w == nil {
			return
		}
		t := sp.queue[0]
		sp.queue[0] = nil
		sp.queue = sp.queue[1:]
		t.state = ticketAssigned
		job := w.start(t.action)
		t.resolve.Resolve(job.newHandle())
	}
}

func (sp *SchedPool) freeWorker() *Worker {
	for i := range sp.workers {
		w := sp.workers[(sp.next+i)%len(sp.workers)]
		if w.running < w.capacity {
			sp.next = (sp.next + i + 1) % len(sp.workers)
			return w
		}
	}
	return nil
}

// RemoteJob is a job running on a worker: its log, which clients tail, and
// its result.
type RemoteJob struct {
	worker  *Worker
	id      string
	log     []string
	logDone bool
	readers []sim.Resolver[sim.Unit]

	result     *sim.Promise[Result[string]]
	setResult  sim.Resolver[Result[string]]
	work       *sim.Promise[sim.Unit]
	refs       int
	cancelling bool
}

// start runs action on the worker (OC8): it logs where it builds, works for
// the action's duration, writes the output and "Job succeeded", closes its
// log and frees its capacity.
func (w *Worker) start(action Action) *RemoteJob {
	s := w.pool.sched.proc.Sim
	w.running++
	w.jobs++
	result, setResult := sim.Wait[Result[string]]()
	job := &RemoteJob{worker: w, id: fmt.Sprintf("%s/%d", w.name, w.jobs), result: result, setResult: setResult}
	job.append("Building on " + w.name)

	job.work = s.Sleep(action.Duration)
	sim.On(job.work, func(_ sim.Unit, err error) {
		if err != nil {
			job.append("Job cancelled")
			job.finish(Error[string](err))
			return
		}
		for _, line := range action.Output {
			job.append(line)
		}
		job.append("Job succeeded")
		job.finish(Ok(fmt.Sprintf("%s done by %s", action.Kind, w.name)))
	})
	return job
}

func (job *RemoteJob) finish(r Result[string]) {
	job.logDone = true
	job.wakeReaders()
	job.setResult.Resolve(r)
	job.worker.running--
	job.worker.pool.dispatch()
}

func (job *RemoteJob) append(line string) {
	job.log = append(job.log, line)
	job.wakeReaders()
}

func (job *RemoteJob) wakeReaders() {
	readers := job.readers
	job.readers = nil
	for _, r := range readers {
		r.Resolve(sim.Unit{})
	}
}

// cancel stops the work if it is still going.
func (job *RemoteJob) cancel() { job.work.Cancel() }

// Handle is a reference to a capability for a remote job (OC1). Every
// handle must be released; one that is not stays counted by the process.
type Handle struct {
	job      *RemoteJob
	proc     *Process
	released bool
}

func (job *RemoteJob) newHandle() *Handle {
	job.refs++
	p := job.worker.pool.sched.proc
	p.handles++
	return &Handle{job: job, proc: p}
}

// Release drops the reference. Dropping the last one stops the remote job
// if it is still running (OC8). Releasing twice is a bug and panics.
func (h *Handle) Release() {
	if h.released {
		panic("model: handle released twice")
	}
	h.released = true
	h.proc.handles--
	h.job.refs--
	if h.job.refs == 0 {
		h.job.cancel()
	}
}

// Result is the remote job's result.
func (h *Handle) Result() *sim.Promise[Result[string]] { return h.job.result }

// Cancel asks the worker to cancel the job.
func (h *Handle) Cancel() *sim.Promise[Result[sim.Unit]] {
	h.job.cancel()
	return sim.Return(Ok(sim.Unit{}))
}

// LogChunk is a piece of a remote log read from an offset: Data is empty
// once the log is closed and fully read.
type LogChunk struct {
	Data []string
	Next int
}

// Log returns the remote log from offset start, waiting until there is
// something past it or the log is closed.
func (h *Handle) Log(start int) *sim.Promise[Result[LogChunk]] {
	job := h.job
	if start < len(job.log) || job.logDone {
		data := append([]string(nil), job.log[start:]...)
		return sim.Return(Ok(LogChunk{Data: data, Next: len(job.log)}))
	}
	wait, r := sim.Wait[sim.Unit]()
	job.readers = append(job.readers, r)
	return sim.Bind(wait, func(sim.Unit) *sim.Promise[Result[LogChunk]] { return h.Log(start) })
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
