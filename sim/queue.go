package sim

import "time"

// event is one scheduled callback. Events are stored by value so that
// scheduling allocates nothing beyond the callback itself.
type event struct {
	at  time.Duration
	seq uint64
	fn  func()
}

// before is the queue order: earlier time first, then earlier scheduling.
func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// eventQueue is a binary min-heap of events, written out by hand rather
// than through container/heap so that events are never boxed in interfaces.
type eventQueue []event

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].before(&h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{} // drop the callback so the collector can free it
	h = h[:last]
	*q = h

	// Sift the moved element down.
	i := 0
	for {
		left := 2*i + 1
		if left >= len(h) {
			break
		}
		least := left
		if right := left + 1; right < len(h) && h[right].before(&h[left]) {
			least = right
		}
		if !h[least].before(&h[i]) {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	return top
}
