package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// confirmRig is a job created with its own config, and a Local pool of
// two free slots for it to start on.
type confirmRig struct {
	p    *Process
	cfg  *Config
	sw   *Switch
	job  *Job
	pool *LocalPool
}

func newConfirmRig(tb testing.TB) *confirmRig {
	tb.Helper()
	p := newTestProcess(tb)
	cfg := &Config{}
	sw := p.NewSwitch("deploy")
	j, err := p.NewJob(sw, "deploy", cfg, Low)
	require.NoError(tb, err)
	return &confirmRig{p: p, cfg: cfg, sw: sw, job: j, pool: p.NewLocalPool("deploy", 2)}
}

// start starts the rig's job at level.
func (r *confirmRig) start(level Level) *sim.Promise[sim.Unit] {
	return StartWith[sim.Unit](r.job, r.pool, level)
}

func TestJB8_Confirm(t *testing.T) {
	t.Run("JB8_at_or_above_threshold_waits_until_it_rises", func(t *testing.T) {
		tests := []struct {
			threshold, level Level
		}{
			{Average, Average},
			{Average, AboveAverage},
			{Harmless, Harmless},
		}
		for _, tt := range tests {
			t.Run(tt.threshold.String()+"/"+tt.level.String(), func(t *testing.T) {
				r := newConfirmRig(t)
				r.cfg.SetConfirm(tt.threshold)

				got := r.start(tt.level)
				requirePending(t, got)
				assert.Equal(t, Ready, r.job.State())
				assert.Zero(t, r.pool.InUse(), "slots in use while waiting")

				// Raising the threshold but not above the level changes
				// nothing; raising it above lets the job go on.
				r.p.Sim.At(time.Minute, func() { r.cfg.SetConfirm(tt.threshold) })
				r.p.Sim.At(2*time.Minute, func() { r.cfg.SetConfirm(tt.level + 1) })
				at := resolvedAt(r.p.Sim, got)
				runIdle(t, r.p)

				requireFulfilled(t, got)
				assert.Equal(t, 2*time.Minute, *at, "started at")
				assert.Equal(t, []string{
					"2026-06-02 15:02.13: Waiting for confirm-threshold > " + tt.level.String(),
					"2026-06-02 15:04.13: Confirm-threshold now > " + tt.level.String(),
				}, r.job.Log())
				assert.Equal(t, Running, r.job.State())
				assert.Equal(t, 1, r.pool.InUse())
			})
		}
	})

	t.Run("JB8_clear_confirm_lets_every_waiting_job_go_on", func(t *testing.T) {
		r := newConfirmRig(t)
		other, err := r.p.NewJob(r.sw, "other", r.cfg, Low)
		require.NoError(t, err)
		r.cfg.SetConfirm(Harmless)
		first := r.start(Average)
		second := StartWith[sim.Unit](other, r.pool, Dangerous)

		r.p.Sim.At(time.Minute, func() { r.cfg.ClearConfirm() })
		runIdle(t, r.p)

		requireFulfilled(t, first)
		requireFulfilled(t, second)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for confirm-threshold > average",
			"2026-06-02 15:03.13: Confirm-threshold now > average",
		}, r.job.Log())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for confirm-threshold > dangerous",
			"2026-06-02 15:03.13: Confirm-threshold now > dangerous",
		}, other.Log())
	})

	t.Run("JB8_below_threshold_does_not_wait", func(t *testing.T) {
		tests := []struct {
			name string
			set  func(c *Config)
		}{
			{"no_threshold", func(*Config) {}},
			{"threshold_above_level", func(c *Config) { c.SetConfirm(AboveAverage) }},
			{"threshold_cleared", func(c *Config) { c.SetConfirm(Harmless); c.ClearConfirm() }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newConfirmRig(t)
				tt.set(r.cfg)

				requireFulfilled(t, r.start(Average))

				assert.Empty(t, r.job.Log())
				assert.Equal(t, Running, r.job.State())
			})
		}
	})

	t.Run("JB8_nil_config_sets_no_threshold", func(t *testing.T) {
		p := newTestProcess(t)
		j, err := p.NewJob(p.NewSwitch("solver-remote"), "solver-job", nil, Low)
		require.NoError(t, err)

		requireFulfilled(t, StartWith[sim.Unit](j, p.NewLocalPool("solver", 1), Dangerous))
		assert.Empty(t, j.Log())
	})

	// Cancelling the job ends the wait with ErrCanceled: a model choice,
	// the confirmation being registered as one of the job's cancel hooks.
	t.Run("JB8_cancel_while_waiting_ends_the_wait", func(t *testing.T) {
		r := newConfirmRig(t)
		r.cfg.SetConfirm(Average)
		got := r.start(Average)

		r.p.Sim.At(time.Minute, func() { r.job.Cancel("Cancelled by user") })
		r.p.Sim.At(2*time.Minute, func() { r.cfg.ClearConfirm() })
		runIdle(t, r.p)

		requireRejected(t, got, "canceled")
		_, err := got.Result()
		assert.ErrorIs(t, err, sim.ErrCanceled)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for confirm-threshold > average",
			"2026-06-02 15:03.13: Cancelling: Cancelled by user",
		}, r.job.Log(), "no Confirm-threshold line once cancelled")
		assert.Equal(t, Ready, r.job.State())
		assert.Zero(t, r.pool.InUse())
		assert.Equal(t, [2]int{0, 0}, queued(r.pool), "queued (high, low)")
	})

	t.Run("JB8_already_cancelled_job_does_not_wait", func(t *testing.T) {
		r := newConfirmRig(t)
		r.cfg.SetConfirm(Average)
		r.job.Cancel("Cancelled by user")

		got := r.start(Average)

		requireRejected(t, got, "canceled")
		assert.Zero(t, r.pool.InUse())
	})

	t.Run("JB8_job_confirmed_while_another_releases_still_waits", func(t *testing.T) {
		// A job released by SetConfirm starts another at once, at a level
		// that must still wait; the wait must survive the release loop.
		r := newConfirmRig(t)
		next, err := r.p.NewJob(r.sw, "next", r.cfg, Low)
		require.NoError(t, err)
		r.cfg.SetConfirm(Average)
		var second *sim.Promise[sim.Unit]
		sim.On(r.start(Average), func(sim.Unit, error) {
			second = StartWith[sim.Unit](next, r.pool, Dangerous)
		})

		r.p.Sim.At(time.Minute, func() { r.cfg.SetConfirm(AboveAverage) })
		r.p.Sim.At(2*time.Minute, func() { r.cfg.ClearConfirm() })
		runIdle(t, r.p)

		require.NotNil(t, second, "second job started")
		requireFulfilled(t, second)
		assert.Equal(t, []string{
			"2026-06-02 15:03.13: Waiting for confirm-threshold > dangerous",
			"2026-06-02 15:04.13: Confirm-threshold now > dangerous",
		}, next.Log())
	})
}
