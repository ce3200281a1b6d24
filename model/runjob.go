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
		return sim.Bind(tail(job, h, 0), func(r Result[sim.Unit]) *sim.Promise[Result[string]] {
			if r.Err != nil {
				return sim.Return(Error[string](r.Err))
			}
			return result
		})
	})
}

// tail copies the remote log from offset start into job until it ends.
func tail(job *Job, h *Handle, start int) *sim.Promise[Result[sim.Unit]] {
	return sim.Bind(h.Log(start), func(r Result[LogChunk]) *sim.Promise[Result[sim.Unit]] {
		if r.Err != nil {
			return sim.Return(Error[sim.Unit](r.Err))
		}
		if len(r.Value.Data) == 0 {
			return sim.Return(Ok(sim.Unit{}))
		}
		for _, line := range r.Value.Data {
			if err := job.Write(line); err != nil {
				return sim.Fail[Result[sim.Unit]](err)
			}
		}
		return tail(job, h, r.Value.Next)
	})
}
