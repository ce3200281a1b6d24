package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// gcWarning is the process log line of a switch collected while still On
// (SW7), stamped at the epoch.
func gcWarning(label string) string {
	return "2026-06-02 15:02.13: Switch " + label +
		" garbage collected while still on; turning it off"
}

func TestSW7_Collect(t *testing.T) {
	t.Run("SW7_dropped_on_switch_without_job_is_turned_off_with_warning", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse ocurrent/ocaml-ci")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "release", sleepFor(p.Sim, time.Second))
		sw.Drop()
		sw.Drop() // dropping twice is dropping once

		n := p.Collect()

		assert.Equal(t, 1, n, "Collect() switches turned off")
		assert.Equal(t, TurningOff, sw.State(), "state while its hook runs")
		runIdle(t, p)
		assert.Equal(t, Off, sw.State())
		assert.Equal(t, []string{"release@0s"}, tr.runs, "hooks run")
		assert.Equal(t, []string{gcWarning("analyse ocurrent/ocaml-ci")}, p.ProcessLog())

		// A collected switch is gone: collecting again finds nothing.
		assert.Zero(t, p.Collect(), "second Collect()")
		assert.Len(t, p.ProcessLog(), 1)
	})

	t.Run("SW7_dropped_switch_holding_a_job_is_not_collected", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		sw.Drop()

		for i := range 3 {
			assert.Zero(t, p.Collect(), "Collect() #%d", i+1)
		}

		assert.Equal(t, On, sw.State())
		assert.Equal(t, []string{j.ID()}, openIDs(p))
		assert.Equal(t, Ready, j.State())
		assert.Equal(t, 1, p.Gauge())
		assert.Empty(t, p.ProcessLog())
	})

	t.Run("SW7_switch_never_dropped_is_never_collected", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "probe", sim.Done)

		assert.Zero(t, p.Collect())
		runIdle(t, p)

		assert.Equal(t, On, sw.State())
		assert.Empty(t, tr.runs, "hooks run")
		assert.Empty(t, p.ProcessLog())
	})

	t.Run("SW7_dropped_switch_already_off_is_not_turned_off_again", func(t *testing.T) {
		for _, st := range []SwitchState{Off, TurningOff} {
			t.Run(st.String(), func(t *testing.T) {
				p := newTestProcess(t)
				sw, _ := switchIn(t, p, "solver-remote", st)
				sw.Drop()

				assert.Zero(t, p.Collect())
				runUntil(t, p, time.Hour)

				assert.Equal(t, st, sw.State())
				assert.Empty(t, p.ProcessLog(), "no warning")
			})
		}
	})

	t.Run("SW7_switch_dropped_during_collect_is_collected_next_time", func(t *testing.T) {
		p := newTestProcess(t)
		first := p.NewSwitch("first")
		second := p.NewSwitch("second")
		// first's hook lets go of second, as a cleanup that drops the
		// last reference to another switch would.
		require.NoError(t, first.AddHookOrFail("drop second", func() *sim.Promise[sim.Unit] {
			second.Drop()
			return sim.Done()
		}))
		first.Drop()

		assert.Equal(t, 1, p.Collect(), "first Collect()")
		assert.Equal(t, Off, first.State())
		assert.Equal(t, On, second.State(), "second, dropped during the collection")

		assert.Equal(t, 1, p.Collect(), "second Collect()")
		assert.Equal(t, Off, second.State())
		assert.Equal(t, []string{gcWarning("first"), gcWarning("second")}, p.ProcessLog())
	})
}
