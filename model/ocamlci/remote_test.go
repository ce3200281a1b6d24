package ocamlci_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
)

// TestRemoteSolve pins how remote_solve reads the worker's answer and what
// it leaves behind when the placeholder job cannot be made.
func TestRemoteSolve(t *testing.T) {
	for _, design := range []string{"module", "per-call"} {
		t.Run("CI4_CI5_cancelled_solve_fails_with_job_cancelled/"+design, func(t *testing.T) {
			r := newRig(t)
			d := r.design(t, design)
			job, err := r.p.NewJob(r.p.NewSwitch("analyse"), "ci-analyse", nil, model.Low)
			require.NoError(t, err)

			// Cancelling the analysis while its solve runs cancels the remote
			// job (OC9); the worker answers with a successful response that
			// holds the cancellation (OC8), which remote_solve turns into a
			// failure.
			solve := d.Solve(job, ocamlci.SolveRequest{Kind: ocamlci.KindMain, Duration: time.Minute, Platforms: 3})
			at(r.p, 10*time.Second, func() { job.Cancel(ocamlci.ReasonUser) })
			runIdle(t, r.p)

			_, err = solve.Result()
			require.Error(t, err)
			assert.Equal(t, "Job cancelled", err.Error())
			assert.Contains(t, job.Log(), "Job succeeded", "the worker still reports success")
		})
	}

	t.Run("SW7_per_call_switch_left_on_by_a_failed_create_is_collected", func(t *testing.T) {
		r := newRig(t)
		job, err := r.p.NewJob(r.p.NewSwitch("analyse"), "ci-analyse", nil, model.Low)
		require.NoError(t, err)
		r.p.FDs.Limit = r.p.FDs.InUse() // no descriptor left for the solver-job's log
		solve := ocamlci.NewPerCall(r.p, r.conn).Solve(job, ocamlci.SolveRequest{Kind: ocamlci.KindMain})
		_, err = solve.Result()
		require.ErrorIs(t, err, model.ErrTooManyOpenFiles)

		assert.Equal(t, 1, r.p.Collect(), "the switch made for the solve is collected")
		assert.Contains(t, r.p.ProcessLog()[0], "Switch solver-remote garbage collected while still on")
	})
}
