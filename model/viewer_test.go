package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// watch connects a viewer to j, failing tb if it cannot.
func watch(tb testing.TB, p *Process, j *Job) *Viewer {
	tb.Helper()
	v, err := p.Watch(j)
	require.NoError(tb, err, "Watch(%s)", j.ID())
	return v
}

func TestJB6_Viewer(t *testing.T) {
	t.Run("JB6_wait_log_is_woken_by_each_write", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		var wakes []string
		var wait func()
		wait = func() {
			sim.On(j.WaitLog(), func(sim.Unit, error) {
				wakes = append(wakes, p.Sim.Elapsed().String())
				if j.LogOpen() {
					wait()
				}
			})
		}
		wait()
		// Two readers at once are both woken.
		other := j.WaitLog()

		p.Sim.At(time.Second, func() { j.Logf("Solving with opam-repository commit: 0fe2cb1") })
		p.Sim.At(2*time.Second, func() { j.Write("Building on solver-1") })
		p.Sim.At(3*time.Second, func() { fillFDs(p); j.Logf("lost") })
		runIdle(t, p)

		assert.Equal(t, []string{"1s", "2s"}, wakes, "wakes by writes; not by a failed write")
		requireFulfilled(t, other)
	})

	t.Run("JB6_wait_log_is_woken_by_the_close", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		woken := j.WaitLog()
		at := resolvedAt(p.Sim, woken)

		p.Sim.At(time.Minute, func() { sw.TurnOff() })
		runIdle(t, p)

		requireFulfilled(t, woken)
		assert.Equal(t, time.Minute, *at, "woken at")
		assert.Empty(t, j.Log())
		requireFulfilled(t, j.WaitLog()) // a closed log wakes its readers at once
	})

	t.Run("JB6_viewer_holds_a_socket_until_the_job_closes", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		j.Logf("Solving with opam-repository commit: 0fe2cb1")
		v := watch(t, p, j)
		require.True(t, v.Open())
		assert.Equal(t, 1, v.Lines(), "lines sent on connect")
		assert.Equal(t, 1, p.FDs.OpenOf(FDSocket))
		assert.Equal(t, 1, p.Snapshot().Viewers)

		var lines []int
		write := func() {
			j.Write("line")
			lines = append(lines, v.Lines())
		}
		p.Sim.At(time.Second, write)
		p.Sim.At(2*time.Second, func() { write(); write() })
		p.Sim.At(time.Hour, func() { sw.TurnOff() })
		var openBefore bool
		p.Sim.At(time.Hour-time.Second, func() { openBefore = v.Open() })
		runIdle(t, p)

		assert.Equal(t, []int{2, 3, 4}, lines, "lines sent after each write")
		assert.True(t, openBefore, "open until the job closes")
		assert.False(t, v.Open(), "open after the job closed")
		assert.Zero(t, p.FDs.OpenOf(FDSocket))
		assert.Zero(t, p.Snapshot().Viewers)
	})

	t.Run("JB6_viewer_leave_closes_its_socket", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		leaving := watch(t, p, j)
		staying := watch(t, p, j)
		require.Equal(t, 2, p.FDs.OpenOf(FDSocket))

		leaving.Leave()
		leaving.Leave() // leaving twice closes one socket
		assert.False(t, leaving.Open())
		assert.True(t, staying.Open())
		assert.Equal(t, 1, p.FDs.OpenOf(FDSocket))
		assert.Equal(t, 1, p.Snapshot().Viewers)

		// The stream that left is sent nothing more, and the close ends
		// the other one without touching the first's socket again.
		j.Logf("Job succeeded")
		requireFulfilled(t, sw.TurnOff())
		assert.Zero(t, leaving.Lines())
		assert.Equal(t, 1, staying.Lines())
		assert.Zero(t, p.FDs.OpenOf(FDSocket))
		assert.Zero(t, p.Snapshot().Viewers)
	})

	t.Run("JB6_watch_fails_when_descriptor_table_is_full", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		fillFDs(p)

		v, err := p.Watch(j)

		require.ErrorIs(t, err, ErrTooManyOpenFiles)
		assert.EqualError(t, err, "too many open files")
		assert.Nil(t, v)
		assert.Zero(t, p.FDs.OpenOf(FDSocket))
		assert.Zero(t, p.Snapshot().Viewers)
	})

	t.Run("JB6_watch_of_closed_job_ends_at_once", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		j.Logf("Job succeeded")
		requireFulfilled(t, sw.TurnOff())

		v := watch(t, p, j)

		assert.False(t, v.Open())
		assert.Equal(t, 1, v.Lines())
		assert.Zero(t, p.FDs.OpenOf(FDSocket))
		assert.Equal(t, p.FDs.Base+1, p.FDs.Peak(), "the socket was taken, then given back")
	})

	// F15: a viewer of a job that never closes keeps its socket for ever
	// (inferred).
	t.Run("JB6_viewer_of_leaked_job_keeps_its_socket", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		pool := p.NewLocalPool("solver", 1)
		j := newJob(t, p, sw, "solver-job", Low)
		requireFulfilled(t, StartWith[sim.Unit](j, pool, Average))
		var viewers []*Viewer
		for i := range 3 {
			p.Sim.At(time.Duration(i)*time.Hour, func() {
				viewers = append(viewers, watch(t, p, j))
			})
		}
		runUntil(t, p, 30*24*time.Hour)

		for i, v := range viewers {
			assert.True(t, v.Open(), "viewer %d open", i)
		}
		assert.Equal(t, 3, p.FDs.OpenOf(FDSocket))
		assert.Equal(t, 3, p.Snapshot().Viewers)
	})
}
