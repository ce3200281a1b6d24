package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// A remote job's last lines wake the clients tailing its log. If one of
// them reacts by releasing the job's last handle, as run_job's with_ref
// does when copying the line fails, the job is already ending: it must
// end once, with its own result, not be stopped a second time.
func TestOC8_release_while_the_job_writes_its_last_line(t *testing.T) {
	p := newTestProcess(t)
	sched := p.NewScheduler()
	sched.Pool("solver").AddWorker("solver-1", 1)
	outer, err := p.NewJob(p.NewSwitch("analyse"), "ci-analyse", nil, Low)
	require.NoError(t, err)

	// Copying "Job succeeded" into the outer job fails.
	p.Inject = func(site Site, detail string) error {
		if site == SiteJobLog && detail == "Job succeeded" {
			return ErrTooManyOpenFiles
		}
		return nil
	}
	ticket := sched.Pool("solver").Submit(Action{Kind: "solve main", Duration: time.Minute}, false)
	h := requireFulfilled(t, ticket.Job())
	run := WithRef(h, func(h *Handle) *sim.Promise[Result[string]] { return RunJob(outer, h) })
	runIdle(t, p)

	_, err = run.Result()
	assert.ErrorIs(t, err, ErrTooManyOpenFiles, "run_job rejects with the failed write")
	assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, h.job.result),
		"the job ends with its own result")
	assert.Zero(t, p.Snapshot().Handles)
	assert.Equal(t, 0, sched.Pool("solver").Worker("solver-1").Running())
}
