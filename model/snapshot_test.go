package model

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

func TestSnapshot(t *testing.T) {
	t.Run("JB5_fds_by_kind_and_peak", func(t *testing.T) {
		p := newTestProcess(t)
		p.LogMode = Held
		p.FDs.Limit = 100
		analyse := p.NewSwitch("analyse")
		solver := p.NewSwitch("solver-remote")
		newJob(t, p, analyse, "ci-analyse", Low)
		leaked := newJob(t, p, solver, "solver-job", Low)
		newJob(t, p, solver, "solver-job", Low)
		watch(t, p, leaked)

		snap := p.Snapshot()
		assert.Equal(t, FDView{Limit: 100, Base: 16, Log: 3, LogPeak: 3, Sockets: 1, InUse: 20, Peak: 20},
			snap.FDs)
		assert.Equal(t, Held, snap.LogMode)

		requireFulfilled(t, analyse.TurnOff())
		snap = p.Snapshot()
		assert.Equal(t, FDView{Limit: 100, Base: 16, Log: 2, LogPeak: 3, Sockets: 1, InUse: 19, Peak: 20},
			snap.FDs, "after one job closed: the peak stays")

		requireFulfilled(t, solver.TurnOff())
		snap = p.Snapshot()
		assert.Equal(t, FDView{Limit: 100, Base: 16, LogPeak: 3, InUse: 16, Peak: 20}, snap.FDs,
			"after every job closed")
		assert.Equal(t, map[string]int{"ci-analyse": 1, "solver-job": 2}, snap.CreatedOf)
		assert.Equal(t, 0, p.Hooks(), "hooks after every switch turned off")
		assert.Equal(t, 2, snap.PeakHooks, "solver-remote's stack held two jobs' hooks")
	})

	t.Run("JB5_disk_in_snapshot", func(t *testing.T) {
		p := newTestProcess(t)
		p.Disk.Budget = 1000
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		require.NoError(t, j.Logf("Job succeeded"))

		line := "2026-06-02 15:02.13: Job succeeded\n"
		assert.Equal(t, Disk{Budget: 1000, Used: int64(len(line))}, p.Snapshot().Disk)
		assert.Equal(t, Transient, p.Snapshot().LogMode)
	})

	t.Run("JB3_gauge_created_and_closed", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		kept := p.NewSwitch("solver-remote")
		for range 3 {
			newJob(t, p, sw, "ci-analyse", Low)
		}
		newJob(t, p, kept, "solver-job", Low)
		requireFulfilled(t, sw.TurnOff())

		snap := p.Snapshot()
		assert.Equal(t, [3]int{4, 3, 1}, [3]int{snap.Created, snap.Closed, snap.Gauge},
			"created, closed, gauge")
		assert.Equal(t, sim.DefaultEpoch, snap.At)
		require.Len(t, snap.Jobs, 1)
		assert.Equal(t, "solver-job", snap.Jobs[0].Label)
	})

	t.Run("JB6_viewers", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		a := watch(t, p, j)
		watch(t, p, j)
		assert.Equal(t, 2, p.Snapshot().Viewers)

		a.Leave()
		assert.Equal(t, 1, p.Snapshot().Viewers)
		requireFulfilled(t, sw.TurnOff())
		assert.Zero(t, p.Snapshot().Viewers)
	})

	t.Run("PL2_pools_with_holders_in_creation_order", func(t *testing.T) {
		p := newTestProcess(t)
		analyse := p.NewLocalPool("analyse", 2)
		p.NewLocalPool("build", 1)
		gl := &grantLog{s: p.Sim}
		first := gl.request(p, analyse, "first", Low)
		gl.request(p, analyse, "second", Low)
		gl.request(p, analyse, "queued-high", High)
		gl.request(p, analyse, "queued-low", Low)

		assert.Equal(t, []PoolView{
			{Label: "analyse", Capacity: 2, InUse: 2, High: 1, Low: 1,
				Holders: []string{"first", "second"}},
			{Label: "build", Capacity: 1},
		}, p.Snapshot().Pools)

		requireFulfilled(t, first.sw.TurnOff())
		assert.Equal(t, PoolView{Label: "analyse", Capacity: 2, InUse: 2, Low: 1,
			Holders: []string{"second", "queued-high"}}, p.Snapshot().Pools[0],
			"after the first holder let go")
	})

	t.Run("SW3_switches_with_hook_stacks_in_creation_order", func(t *testing.T) {
		p := newTestProcess(t)
		p.NewSwitch("empty") // no hooks: not listed
		older := p.NewSwitch("older")
		newer := p.NewSwitch("newer")
		wedged := p.NewSwitch("wedged")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, newer, "n1", sim.Done)
		tr.push(t, older, "o1", sim.Done)
		tr.push(t, older, "o2", sim.Done)
		tr.push(t, wedged, "under", sim.Done)
		tr.push(t, wedged, "failing", func() *sim.Promise[sim.Unit] {
			return sim.Fail[sim.Unit](errors.New("hook failed"))
		})

		assert.Equal(t, []SwitchView{
			{Label: "older", State: On, Hooks: []string{"o1", "o2"}, Peak: 2},
			{Label: "newer", State: On, Hooks: []string{"n1"}, Peak: 1},
			{Label: "wedged", State: On, Hooks: []string{"under", "failing"}, Peak: 2},
		}, p.Snapshot().Switches)

		// An Off switch leaves the list; a wedged one stays, its
		// remaining hooks shown.
		requireFulfilled(t, older.TurnOff())
		wedged.TurnOff()
		runUntil(t, p, time.Hour)
		assert.Equal(t, []SwitchView{
			{Label: "newer", State: On, Hooks: []string{"n1"}, Peak: 1},
			{Label: "wedged", State: TurningOff, Hooks: []string{"under"}, Peak: 2},
		}, p.Snapshot().Switches)
	})
}
