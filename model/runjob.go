package model

import "github.com/jobsim/jobsim/sim"

// RunJob is Connection.run_job ~job handle (OC9–OC11). While it runs,
// cancelling job cancels the remote job, logging "Cancel failed: …" if that
// fails. It asks for the result, copies the remote log into job verbatim
// until the worker closes it, and returns the result. It never rejects: a
// broken handle is an Error result.
func RunJob(job *Job, h *Handle) *sim.Promise[Result[string]] {
	finished := false
	job.OnCancel(func(string) *sim.Promise[sim.Unit] {
		if finished {
			return sim.Done()
		}
		return sim.Map(h.Cancel(), func(r Result[sim.Unit]) sim.Unit {
			if r.Err != nil {
				job.Logf("Cancel failed: %v", r.Err)
			}
			return sim.Unit{}
		})
	})

	result := h.Result()
	return sim.Bind(tail(job, h, 0), func(r Result[sim.Unit]) *sim.Promise[Result[string]] {
		finished = true
		if r.Err != nil {
			return sim.Return(Error[string](r.Err))
		}
		return result
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
			job.Write(line)
		}
		return tail(job, h, r.Value.Next)
	})
}
