package model

import (
	"fmt"

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
}

type slotRequest struct {
	sw       *Switch
	resolver sim.Resolver[sim.Unit]
	queued   bool
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
	for i, x := range q.items {
		if x == r {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return
		}
	}
}

// NewLocalPool is Current.Pool.create ~label capacity.
func (p *Process) NewLocalPool(label string, capacity int) *LocalPool {
	return &LocalPool{proc: p, label: label, capacity: capacity}
}

// Label returns the pool's label.
func (lp *LocalPool) Label() string { return lp.label }

// Capacity returns how many slots the pool has.
func (lp *LocalPool) Capacity() int { return lp.capacity }

// InUse returns how many slots are held.
func (lp *LocalPool) InUse() int { return lp.used }

// Queued returns how many requests wait, high and low.
func (lp *LocalPool) Queued() (high, low int) { return len(lp.high.items), len(lp.low.items) }

// Get enqueues a request, grants it if a slot is free, and adds the
// request's cancel function to sw with add_hook_or_exec (PL2). The grant
// comes first, so on a switch that is already Off a free slot is still
// granted, its release hook cannot be pushed, and the slot is never freed
// (JB16, PL5).
func (lp *LocalPool) Get(prio Priority, sw *Switch) (*sim.Promise[sim.Unit], func() *sim.Promise[sim.Unit]) {
	res, resolver := sim.Wait[sim.Unit]()
	req := &slotRequest{sw: sw, resolver: resolver, queued: true}
	if prio == High {
		lp.high.push(req)
	} else {
		lp.low.push(req)
	}
	lp.grant()

	cancel := func() *sim.Promise[sim.Unit] {
		if req.queued {
			req.queued = false
			lp.high.remove(req)
			lp.low.remove(req)
			resolver.Reject(fmt.Errorf("Cancelled waiting for resource from pool %q", lp.label))
		}
		return sim.Done()
	}
	sw.AddHookOrExec("cancel request to pool "+lp.label, cancel)
	return res, cancel
}

// grant hands free slots to waiting requests, High first (PL1, PL2).
func (lp *LocalPool) grant() {
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
		req.queued = false
		lp.used++
		if err := req.sw.AddHookOrFail("release slot of pool "+lp.label, lp.release); err != nil {
			req.resolver.Reject(err)
			continue
		}
		req.resolver.Resolve(sim.Unit{})
	}
}

// release frees one slot and hands it on.
func (lp *LocalPool) release() *sim.Promise[sim.Unit] {
	lp.used--
	lp.grant()
	return sim.Done()
}
