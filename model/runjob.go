package model

import "github.com/jobsim/jobsim/sim"

// RunJob is Connection.run_job ~job handle (OC9–OC11).
//
// It runs under a cancel handler on job: cancelling job while it runs
// cancels the remote job, and if that call fails (the scheduler or the
// worker is gone) it logs "Cancel failed: <error>" to job. It asks for the
// result, copies the remote log into job verbatim until the worker closes
// it, and returns the result: Ok with the worker's output, or Error when
// the tail or the result fails, as when the handle breaks. It rejects only
// when a write to job's own log fails, as the OCaml write raises.
func RunJob(job *Job, h *Handle) *sim.Promise[Result[string]] {
	onCancel := func(string) *sim.Promise[sim.Unit] {
		return sim.Bind(h.Cancel(), func(r Result[sim.Unit]) *sim.Promise[sim.Unit] {
			if r.Err == nil {
				return sim.Done()
			}
			if err := job.Logf("Cancel failed: %v", r.Err); err != nil {
				return sim.Fail[sim.Unit](err)
			}
			return sim.Done()
		})
	}
	return WithHandler(job, onCancel, func() *sim.Promise[Result[string]] { return copyThenResult(job, h) })
}

// copyThenResult asks for the remote job's result, copies the remote log
// into job until it is closed, and then answers with the result. It is
// what run_job's body does, as
//
//	result := h.Result()
//	Bind(tail(job, h), func(r) { if r is an Error, that; else result })
//
// would, where tail loops on Handle.Log from each chunk's end, writing
// each chunk as soon as it is there: it answers at the same moments with
// the same outcome. It is one object rather than that chain of promises,
// because every solve runs it.
func copyThenResult(job *Job, h *Handle) *sim.Promise[Result[string]] {
	p, resolve := sim.Wait[Result[string]]()
	c := &copier{job: job, h: h, resolve: resolve}
	c.result.then, c.log.then = resultWaker{c}, c
	if r, ok := h.resultNow(); ok {
		c.got, c.answer = true, r
	} else {
		h.await(&c.result, false)
	}
	c.woken()
	return p
}

// copier is a copyThenResult in progress. next is the offset of the first
// line of the remote log not yet copied; log and result are its waits on
// the handle, each reused from one wait to the next.
type copier struct {
	job     *Job
	h       *Handle
	next    int
	log     wakeup
	result  wakeup
	copied  bool           // the log is closed and copied
	got     bool           // the result is known: answer
	answer  Result[string] // the result, once got
	done    bool           // resolved
	resolve sim.Resolver[Result[string]]
}

// woken copies what the log has past next, until it must wait again or
// the copy ends. Each chunk is what Handle.Log would return: the lines
// there when it is read, copied even if more arrive meanwhile.
func (c *copier) woken() {
	h := c.h
	for {
		if err := h.Problem(); err != nil {
			c.finish(Error[string](err))
			return
		}
		remote := h.job
		n := len(remote.log)
		if !h.answering() || (c.next >= n && !remote.logDone) {
			h.await(&c.log, true)
			return
		}
		if c.next >= n {
			c.copied = true
			if c.got {
				c.finish(c.answer)
			}
			return
		}
		for _, line := range remote.log[c.next:n] {
			if err := c.job.Write(line); err != nil {
				c.done = true
				c.resolve.Reject(err)
				return
			}
		}
		c.next = n
	}
}

// resultWaker is a copier's wait for the result.
type resultWaker struct{ c *copier }

// woken takes the result if the handle can give it, else waits again;
// once the log is copied too, the copier answers with it.
func (w resultWaker) woken() {
	c := w.c
	r, ok := c.h.resultNow()
	if !ok {
		c.h.await(&c.result, false)
		return
	}
	c.got, c.answer = true, r
	if c.copied {
		c.finish(r)
	}
}

// finish answers with r, once.
func (c *copier) finish(r Result[string]) {
	if !c.done {
		c.done = true
		c.resolve.Resolve(r)
	}
}
