package sim

import (
	"math/bits"
	"time"
)

// action is what an event does when it runs: call fn or, for a Sleep,
// fulfil the promise wake if it is still pending. A Sleep's promise is
// its own action, so that Sleep allocates one object rather than a
// promise and a closure.
type action struct {
	fn   func()
	wake *Promise[Unit]

	// nextFree links the slots of events that have run: one more than
	// the next free slot, or 0 at the end of the list.
	nextFree int32
}

func (a *action) run() {
	if a.fn != nil {
		a.fn()
		return
	}
	if a.wake.IsPending() {
		a.wake.fulfil(Unit{})
	}
}

// entry is an event's place in the heap: when it runs, its tie-break,
// and the slot that holds its action (a queue holds fewer than 2³¹
// events). Entries hold no pointers, so the heap moves them without
// write barriers and the collector never scans it.
type entry struct {
	at   time.Duration
	seq  uint64
	slot int32
}

// before is the queue order: earlier time first, then earlier scheduling.
func (e *entry) before(o *entry) bool { return e.earlier(o) == 1 }

// earlier is 1 if e comes before o in the queue and 0 if not. It
// compares (at, seq) as one 128-bit number, whose borrow is the answer,
// so that choosing between two entries takes no branch; at is never
// negative, as time runs from zero and is never scheduled in the past.
func (e *entry) earlier(o *entry) int {
	_, borrow := bits.Sub64(e.seq, o.seq, 0)
	_, borrow = bits.Sub64(uint64(e.at), uint64(o.at), borrow)
	return int(borrow)
}

// eventQueue holds the scheduled events: their entries in a binary
// min-heap, written out by hand rather than through container/heap so
// that entries are never boxed in interfaces, and their actions in slots
// that are reused once their events have run. Scheduling allocates
// nothing once the slices have grown to the most events ever queued at
// once.
type eventQueue struct {
	heap  []entry
	slots []action
	free  int32 // one more than the first free slot, or 0 if none is
}

// newEventQueue returns a queue with room for n events.
func newEventQueue(n int) eventQueue {
	return eventQueue{heap: make([]entry, 0, n), slots: make([]action, 0, n)}
}

// len returns how many events are queued.
func (q *eventQueue) len() int { return len(q.heap) }

// next returns the time of the earliest event; the queue must not be
// empty.
func (q *eventQueue) next() time.Duration { return q.heap[0].at }

// push queues a at time at with tie-break seq.
func (q *eventQueue) push(at time.Duration, seq uint64, a action) {
	var slot int32
	if q.free > 0 {
		slot = q.free - 1
		q.free = q.slots[slot].nextFree
		q.slots[slot] = a
	} else {
		slot = int32(len(q.slots))
		q.slots = append(q.slots, a)
	}
	e := entry{at: at, seq: seq, slot: slot}

	// Move parents down into the hole at the end until e fits in it.
	n := len(q.heap)
	if n == cap(q.heap) {
		q.heap = append(q.heap, entry{})
	}
	q.heap = q.heap[:n+1] // a length change only: no pointer is written
	h := q.heap
	i := n
	for i > 0 {
		parent := (i - 1) / 2
		if !e.before(&h[parent]) {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = e
}

// pop removes the earliest event and returns its time and action; the
// queue must not be empty.
func (q *eventQueue) pop() (time.Duration, action) {
	h := q.heap
	top := h[0]
	last := len(h) - 1
	e := h[last]
	q.heap = q.heap[:last]

	// Move the earlier child up into the hole at the root until e, the
	// last entry, fits in it. e stays at h[last] meanwhile: a left child
	// with no right sibling is compared with e there, and if e is the
	// earlier, choosing it ends the loop, as it should.
	i := 0
	for {
		child := 2*i + 1
		if child >= last {
			break
		}
		child += h[child+1].earlier(&h[child])
		if !h[child].before(&e) {
			break
		}
		h[i] = h[child]
		i = child
	}
	h[i] = e

	// Free the slot, dropping the callback so the collector can free it.
	a := q.slots[top.slot]
	q.slots[top.slot] = action{nextFree: q.free}
	q.free = top.slot + 1
	return top.at, a
}
