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
	return WithHandler(job, onCancel, func() *sim.Promise[Result[string]] {
		result := h.Result()
		return sim.Bind(tail(job, h), func(r Result[sim.Unit]) *sim.Promise[Result[string]] {
			if r.Err != nil {
				return sim.Return(Error[string](r.Err))
			}
			return result
		})
	})
}

// tail copies the remote log from its start into job until it ends, as a
// loop of Handle.Log calls from each chunk's end would, writing each chunk
// as soon as it is there; it resolves Ok once the log is closed and copied,
// Error if the handle breaks, and rejects if a write to job fails.
func tail(job *Job, h *Handle) *sim.Promise[Result[sim.Unit]] {
	p, resolve := sim.Wait[Result[sim.Unit]]()
	t := &tailer{job: job, h: h, resolve: resolve}
	t.wk.then = t
	t.woken()
	return p
}

// tailer is a tail in progress: next is the offset of the first line of
// the remote log not yet copied. It waits on the handle with one wakeup,
// which it reuses from one wait to the next.
type tailer struct {
	job     *Job
	h       *Handle
	next    int
	wk      wakeup
	resolve sim.Resolver[Result[sim.Unit]]
}

// woken copies what the log has past next, until it must wait again or
// the tail ends. Each chunk is what Handle.Log would return: the lines
// there when it is read, copied even if more arrive meanwhile.
func (t *tailer) woken() {
	h := t.h
	for {
		if err := h.Problem(); err != nil {
			t.resolve.Resolve(Error[sim.Unit](err))
			return
		}
		remote := h.job
		n := len(remote.log)
		if !h.answering() || (t.next >= n && !remote.logDone) {
			h.await(&t.wk, true)
			return
		}
		if t.next >= n {
			t.resolve.Resolve(Ok(sim.Unit{}))
			return
		}
		for _, line := range remote.log[t.next:n] {
			if err := t.job.Write(line); err != nil {
				t.resolve.Reject(err)
				return
			}
		}
		t.next = n
	}
}
