package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

func TestJB11_Timeout(t *testing.T) {
	t.Run("JB11_duration_format", func(t *testing.T) {
		tests := []struct {
			d    time.Duration
			want string
		}{
			{time.Hour, "60.0 minutes"},
			{121 * time.Second, "2.0 minutes"},
			{120 * time.Second, "120.0 seconds"},
			{90 * time.Second, "90.0 seconds"},
			{2500 * time.Millisecond, "2.5 seconds"},
			{2 * time.Second, "2.000000 seconds"},
			{500 * time.Millisecond, "0.500000 seconds"},
		}
		for _, tt := range tests {
			assert.Equal(t, tt.want, formatTimeout(tt.d), "formatTimeout(%v)", tt.d)
		}
	})

	t.Run("JB11_timeout_cancels_the_job_after_it_starts", func(t *testing.T) {
		tests := []struct {
			timeout time.Duration
			line    string
		}{
			{time.Hour, "2026-06-02 16:02.23: Cancelling: Timeout (60.0 minutes)"},
			{90 * time.Second, "2026-06-02 15:03.53: Cancelling: Timeout (90.0 seconds)"},
			{time.Second, "2026-06-02 15:02.24: Cancelling: Timeout (1.000000 seconds)"},
		}
		for _, tt := range tests {
			t.Run(tt.timeout.String(), func(t *testing.T) {
				p := newTestProcess(t)
				pool := p.NewLocalPool("analyse", 1)
				holder := holdSlot(t, p, pool)
				sw := p.NewSwitch("analyse")
				j := newJob(t, p, sw, "ci-analyse", Low)
				tr := &cancelTrace{s: p.Sim}
				j.OnCancel(tr.hook("work", sim.Done))

				// The pool wait takes 10 s and is not timed.
				got := StartWith[sim.Unit](j, pool, Average, WithTimeout(tt.timeout))
				p.Sim.At(10*time.Second, func() { holder.TurnOff() })
				runIdle(t, p)

				requireFulfilled(t, got)
				assert.Equal(t, []string{
					"2026-06-02 15:02.13: Waiting for resource in pool analyse",
					"2026-06-02 15:02.23: Got resource from pool analyse",
					tt.line,
				}, j.Log())
				reason, cancelled := j.Cancelled()
				assert.True(t, cancelled)
				assert.Equal(t, tt.line[len("2026-06-02 15:02.13: Cancelling: "):], reason)
				firedAt := 10*time.Second + tt.timeout
				assert.Equal(t, []string{"work(" + reason + ")@" + firedAt.String()}, tr.runs)
				// Cancelling never closes (JB14).
				assert.Equal(t, Running, j.State())
				assert.Equal(t, On, sw.State())
			})
		}
	})

	t.Run("JB11_no_timeout_without_the_option", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)

		requireFulfilled(t, StartWith[sim.Unit](j, p.NewLocalPool("analyse", 1), Average))

		assert.Zero(t, p.Sim.Pending(), "events scheduled")
	})

	t.Run("JB11_timeout_after_cancel_does_nothing", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		requireFulfilled(t, StartWith[sim.Unit](j, p.NewLocalPool("analyse", 1), Average,
			WithTimeout(time.Minute)))

		p.Sim.At(30*time.Second, func() { j.Cancel("Cancelled by user") })
		runIdle(t, p)

		assert.Equal(t, time.Minute, p.Sim.Elapsed(), "the timer fired at")
		assert.Equal(t, []string{"2026-06-02 15:02.43: Cancelling: Cancelled by user"}, j.Log(),
			"no already-cancelled line")
		reason, _ := j.Cancelled()
		assert.Equal(t, "Cancelled by user", reason)
	})

	// The timer is not stopped when the switch turns off (JB11): it fires
	// on a closed job, already cancelled with "Job complete", and so does
	// nothing at all.
	t.Run("JB11_timer_outlives_the_switch_and_does_nothing", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		requireFulfilled(t, StartWith[sim.Unit](j, p.NewLocalPool("analyse", 1), Average,
			WithTimeout(time.Hour)))

		p.Sim.At(time.Minute, func() { sw.TurnOff() })
		runUntil(t, p, 2*time.Minute)
		require.Equal(t, Closed, j.State())
		assert.Equal(t, 1, p.Sim.Pending(), "events scheduled after the switch is off: the timer")

		runIdle(t, p)
		assert.Equal(t, time.Hour, p.Sim.Elapsed(), "the timer fired at")
		reason, _ := j.Cancelled()
		assert.Equal(t, "Job complete", reason)
		assert.Empty(t, j.Log())
		assert.Empty(t, p.ProcessLog(), "no write to the closed job")
	})

	t.Run("JB11_no_timer_if_start_with_fails", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		holdSlot(t, p, pool)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		got := StartWith[sim.Unit](j, pool, Average, WithTimeout(time.Minute))

		p.Sim.At(10*time.Second, func() { j.Cancel("Cancelled by user") })
		runIdle(t, p)

		requireRejected(t, got, `Cancelled waiting for resource from pool "analyse"`)
		assert.Equal(t, 10*time.Second, p.Sim.Elapsed(), "last event at")
	})
}
