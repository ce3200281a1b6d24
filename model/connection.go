package model

import (
	"errors"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Connection is the OCluster plugin's Connection.t: the one connection to
// the scheduler that every submission of the process shares.
type Connection struct {
	proc  *Process
	sched *Scheduler
	up    bool

	// RPC is the time one call to the scheduler takes.
	RPC time.Duration
	// RetryEvery is how long Init waits before trying a scheduler that is
	// down again (OC3).
	RetryEvery time.Duration
	// MaxPipeline is how many submissions per pool name and urgency may be
	// between Rate_limit and Got_worker at once (OC3).
	MaxPipeline int

	pipelines map[pipelineKey]*pipeline
}

type pipelineKey struct {
	pool   string
	urgent bool
}

// NewConnection connects to sched with the plugin's defaults: a 10 s retry
// and a pipeline of 200.
func (p *Process) NewConnection(sched *Scheduler) *Connection {
	return &Connection{
		proc: p, sched: sched, up: true,
		RPC: 5 * time.Millisecond, RetryEvery: 10 * time.Second, MaxPipeline: 200,
		pipelines: map[pipelineKey]*pipeline{},
	}
}

// pipeline is the rate limit of one pool name and urgency: a counting
// semaphore with a FIFO of waiters.
type pipeline struct {
	used    int
	waiters []*pipelineWait
}

type pipelineWait struct {
	resolve sim.Resolver[sim.Unit]
	gone    bool
}

func (c *Connection) pipeline(k pipelineKey) *pipeline {
	pl, ok := c.pipelines[k]
	if !ok {
		pl = &pipeline{}
		c.pipelines[k] = pl
	}
	return pl
}

func (c *Connection) acquire(pl *pipeline) (*sim.Promise[sim.Unit], *pipelineWait) {
	p, r := sim.Wait[sim.Unit]()
	w := &pipelineWait{resolve: r}
	if pl.used < c.MaxPipeline {
		pl.used++
		r.Resolve(sim.Unit{})
		return p, w
	}
	pl.waiters = append(pl.waiters, w)
	return p, w
}

func (c *Connection) release(pl *pipeline) {
	pl.used--
	for len(pl.waiters) > 0 && pl.used < c.MaxPipeline {
		w := pl.waiters[0]
		pl.waiters = pl.waiters[1:]
		if w.gone {
			continue
		}
		pl.used++
		w.resolve.Resolve(sim.Unit{})
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

// submission is one request through a ClusterPool.
type submission struct {
	cp      *ClusterPool
	urgent  bool
	stage   Stage
	done    bool
	resolve sim.Resolver[*Handle]
	wait    *pipelineWait
	ticket  *Ticket
}

// Get submits the pool's action. It ignores sw: turning the caller's
// switch off releases nothing (OC1). High priority maps to urgent (OC4).
func (cp *ClusterPool) Get(prio Priority, _ *Switch) (*sim.Promise[*Handle], func() *sim.Promise[sim.Unit]) {
	res, resolve := sim.Wait[*Handle]()
	sub := &submission{cp: cp, urgent: prio == High, resolve: resolve}
	s := cp.conn.proc.Sim
	s.Async(func() *sim.Promise[sim.Unit] { return sub.init() })
	return res, sub.cancel
}

func (sub *submission) fail(err error) {
	if !sub.done {
		sub.done = true
		sub.resolve.Reject(err)
	}
}

// init gets the scheduler over the shared connection, retrying every
// RetryEvery while it is down (OC3).
func (sub *submission) init() *sim.Promise[sim.Unit] {
	c := sub.cp.conn
	s := c.proc.Sim
	logged := false
	var try func(sim.Unit) *sim.Promise[sim.Unit]
	try = func(sim.Unit) *sim.Promise[sim.Unit] {
		if sub.done {
			return sim.Done()
		}
		if !c.up {
			if !logged {
				sub.cp.job.Logf("Connecting to build cluster…")
				logged = true
			}
			return sim.Bind(s.Sleep(c.RetryEvery), try)
		}
		return sim.Bind(s.Sleep(c.RPC), func(sim.Unit) *sim.Promise[sim.Unit] {
			return sub.rateLimit()
		})
	}
	return try(sim.Unit{})
}

// rateLimit waits for one of the pipeline's slots (OC3).
func (sub *submission) rateLimit() *sim.Promise[sim.Unit] {
	if sub.done {
		return sim.Done()
	}
	c := sub.cp.conn
	sub.stage = StageRateLimit
	pl := c.pipeline(pipelineKey{sub.cp.pool, sub.urgent})
	slot, wait := c.acquire(pl)
	sub.wait = wait
	return sim.Bind(slot, func(sim.Unit) *sim.Promise[sim.Unit] {
		if sub.done {
			c.release(pl)
			return sim.Done()
		}
		return sub.getTicket(pl)
	})
}

// getTicket submits the action, logs that it waits for a worker, and
// resolves the request with the job handle once a worker takes it (OC3).
func (sub *submission) getTicket(pl *pipeline) *sim.Promise[sim.Unit] {
	c := sub.cp.conn
	sub.stage = StageGetTicket
	sub.ticket = c.sched.Pool(sub.cp.pool).Submit(sub.cp.action, sub.urgent)
	sub.cp.job.Logf("Waiting for worker…")
	return sim.TryBind(sub.ticket.Job,
		func(h *Handle) *sim.Promise[sim.Unit] {
			c.release(pl)
			sub.stage = StageGotWorker
			sub.ticket.Release()
			sub.done = true
			sub.resolve.Resolve(h)
			return sim.Done()
		},
		func(err error) *sim.Promise[sim.Unit] {
			c.release(pl)
			sub.fail(err)
			return sim.Done()
		})
}

// cancel cancels the submission as its stage allows (OC5): before a
// ticket, the wait is rejected; with a ticket, the ticket is cancelled and
// a failure to do so is logged to the outer job; once a worker is
// assigned, nothing happens.
func (sub *submission) cancel() *sim.Promise[sim.Unit] {
	switch sub.stage {
	case StageInit, StageRateLimit:
		if sub.wait != nil {
			sub.wait.gone = true
		}
		sub.fail(ErrCancelledWaiting)
		return sim.Done()
	case StageGetTicket:
		return sim.Map(sub.ticket.Cancel(), func(r Result[sim.Unit]) sim.Unit {
			if r.Err != nil {
				sub.cp.job.Logf("Cancel ticket failed: %v", r.Err)
			}
			return sim.Unit{}
		})
	}
	return sim.Done()
}
