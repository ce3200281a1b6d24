package model

import "github.com/jobsim/jobsim/sim"

// Viewer is a client streaming a job's log, from the web page or over
// RPC (JB6). It holds one socket descriptor from the moment it connects
// until the stream ends: when the job closes, or when the client goes
// away. A viewer of a job that never closes holds its socket for ever
// (inferred from the real server, which keeps the response open while it
// waits for more log data).
type Viewer struct {
	proc *Process
	job  *Job
	open bool
	read int // log lines sent so far
}

// Watch connects a viewer to job. It fails with ErrTooManyOpenFiles if
// the process cannot accept one more socket.
func (p *Process) Watch(job *Job) (*Viewer, error) {
	if err := p.FDs.Open(FDSocket); err != nil {
		return nil, err
	}
	v := &Viewer{proc: p, job: job, open: true}
	p.viewers++
	if l := p.Ledger; l != nil {
		l.Acquire(Resource{Kind: ResSocket, Key: v, Holder: p}, job)
	}
	v.follow()
	return v, nil
}

// follow sends what the log holds and waits for more, until the job
// closes. It re-arms itself from a callback rather than a promise chain,
// so a long stream retains nothing per write.
func (v *Viewer) follow() {
	if !v.open {
		return
	}
	v.read = len(v.job.log)
	if v.job.closed {
		v.end()
		return
	}
	sim.On(v.job.WaitLog(), func(sim.Unit, error) { v.follow() })
}

// Leave is the client going away: the stream ends and its socket closes.
func (v *Viewer) Leave() {
	if v.open {
		v.end()
	}
}

func (v *Viewer) end() {
	v.open = false
	v.proc.viewers--
	v.proc.FDs.Close(FDSocket)
	if l := v.proc.Ledger; l != nil {
		l.Release(Resource{Kind: ResSocket, Key: v, Holder: v.proc})
	}
}

// Open reports whether the stream is still open.
func (v *Viewer) Open() bool { return v.open }

// Lines returns how many log lines the viewer has been sent.
func (v *Viewer) Lines() int { return v.read }
