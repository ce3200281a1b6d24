package model

import (
	"fmt"
	"slices"

	"github.com/jobsim/jobsim/sim"
)

// Pool is Current.Pool.t: something a job waits on for a resource of type
// R. Get returns the resource's promise and a function that cancels the
// request.
type Pool[R any] interface {
	Label() string
	Get(prio Priority, sw *Switch) (*sim.Promise[R], func() *sim.Promise[sim.Unit])
}

// LocalPool is Current.Pool.create ~label n: n slots, handed out first to
// High requests, then to Low ones, first come first served within each
// (PL1).
type LocalPool struct {
	proc     *Process
	label    string
	capacity int
	used     int
	high     fifo
	low      fifo
	holders  []*Switch // the switches of the granted slots, in grant order
}

// slotRequest is a queued request. Its promise is fulfilled with true
// when a slot is granted and with false when the request is cancelled.
type slotRequest struct {
	ready  *sim.Promise[bool]
	settle sim.Resolver[bool]
	job    *Job // the job it is for, if known, for the ledger
}

// fifo is a queue of requests that cancelling can remove from the middle.
type fifo struct{ items []*slotRequest }

func (q *fifo) push(r *slotRequest) { q.items = append(q.items, r) }

func (q *fifo) pop() *slotRequest {
	r := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return r
}

func (q *fifo) remove(r *slotRequest) {
	if i := slices.Index(q.items, r); i >= 0 {
		q.items = slices.Delete(q.items, i, i+1)
	}
}

// NewLocalPool is Current.Pool.create ~label capacity.
func (p *Process) NewLocalPool(label string, capacity int) *LocalPool {
	lp := &LocalPool{proc: p, label: label, capacity: capacity}
	p.pools = append(p.pools, lp)
	return lp
}

// Label returns the pool's label.
func (lp *LocalPool) Label() string { return lp.label }

// Capacity returns how many slots the pool has.
func (lp *LocalPool) Capacity() int { return lp.capacity }

// InUse returns how many slots are held.
func (lp *LocalPool) InUse() int { return lp.used }

// Queued returns how many requests wait, high and low.
func (lp *LocalPool) Queued() (high, low int) { return len(lp.high.items), len(lp.low.items) }

// Get is Pool.Local.get (PL2, PL3). It queues a request and grants free
// slots at once; then it adds the request's cancel function to sw with
// add_hook_or_exec, and once the request is granted it pushes the slot's
// release hook on sw with add_hook_or_fail. The slot is freed only when sw
// turns off, and the cancel hook is never removed (PL4).
//
// On a switch that is already Off, a free slot is granted, the cancel
// hook runs at once but finds the request granted, and pushing the release
// hook fails with "Switch already off!": the slot is never freed (JB16,
// PL5).
func (lp *LocalPool) Get(prio Priority, sw *Switch) (*sim.Promise[sim.Unit], func() *sim.Promise[sim.Unit]) {
	return lp.getFor(nil, prio, sw)
}

// getFor is Get for job: the slot and the hooks are recorded for it.
func (lp *LocalPool) getFor(job *Job, prio Priority, sw *Switch) (*sim.Promise[sim.Unit], func() *sim.Promise[sim.Unit]) {
	ready, settle := sim.Wait[bool]()
	req := &slotRequest{ready: ready, settle: settle, job: job}
	queue := &lp.low
	if prio == High {
		queue = &lp.high
	}
	queue.push(req)
	cancel := func() *sim.Promise[sim.Unit] {
		queue.remove(req)
		if ready.IsPending() {
			settle.Resolve(false)
		}
		return sim.Done()
	}
	lp.check()

	granted := sim.Bind(sw.addHookOrExec("cancel request to pool "+lp.label, cancel, job),
		func(sim.Unit) *sim.Promise[bool] { return ready })
	th := sim.Bind(granted, func(use bool) *sim.Promise[sim.Unit] {
		if !use {
			return sim.Fail[sim.Unit](fmt.Errorf("Cancelled waiting for resource from pool %q", lp.label))
		}
		release := lp.releaseFor(sw, req)
		if err := sw.canPush(); err != nil {
			return sim.Fail[sim.Unit](err)
		}
		sw.push("release slot of pool "+lp.label, release, job)
		lp.holders = append(lp.holders, sw)
		return sim.Done()
	})
	return th, cancel
}

// check grants free slots to waiting requests, High first (PL1).
func (lp *LocalPool) check() {
	for lp.used < lp.capacity {
		var req *slotRequest
		switch {
		case len(lp.high.items) > 0:
			req = lp.high.pop()
		case len(lp.low.items) > 0:
			req = lp.low.pop()
		default:
			return
		}
		lp.used++
		if l := lp.proc.Ledger; l != nil {
			l.Acquire(Resource{Kind: ResPoolSlot, Key: req, Holder: lp}, req.job)
		}
		req.settle.Resolve(true)
	}
}

// releaseFor is the release hook of the slot granted to req and held by
// sw: it frees the slot and hands it on.
func (lp *LocalPool) releaseFor(sw *Switch, req *slotRequest) Hook {
	return func() *sim.Promise[sim.Unit] {
		if i := slices.Index(lp.holders, sw); i >= 0 {
			lp.holders = slices.Delete(lp.holders, i, i+1)
		}
		lp.used--
		if l := lp.proc.Ledger; l != nil {
			l.Release(Resource{Kind: ResPoolSlot, Key: req, Holder: lp})
		}
		lp.check()
		return sim.Done()
	}
}

// PoolView is a Local pool as a snapshot shows it.
type PoolView struct {
	Label    string
	Capacity int
	InUse    int
	High     int      // High requests waiting
	Low      int      // Low requests waiting
	Holders  []string // the labels of the switches holding slots
	Leaked   int      // slots in use that no switch will ever give back
}

func (lp *LocalPool) view() PoolView {
	v := PoolView{Label: lp.label, Capacity: lp.capacity, InUse: lp.used,
		High: len(lp.high.items), Low: len(lp.low.items)}
	for _, sw := range lp.holders {
		v.Holders = append(v.Holders, sw.label)
	}
	v.Leaked = lp.used - len(lp.holders)
	return v
}
