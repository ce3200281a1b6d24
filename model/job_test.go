package model

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// newJob creates a job labelled label on sw, failing tb if it cannot.
func newJob(tb testing.TB, p *Process, sw *Switch, label string, prio Priority) *Job {
	tb.Helper()
	j, err := p.NewJob(sw, label, &Config{}, prio)
	require.NoError(tb, err, "NewJob(%s, %s)", sw.Label(), label)
	return j
}

// holdSlot fills a slot of pool with a running job on a switch of its
// own, and returns that switch.
func holdSlot(tb testing.TB, p *Process, pool *LocalPool) *Switch {
	tb.Helper()
	sw := p.NewSwitch("holder")
	requireFulfilled(tb, StartWith[sim.Unit](newJob(tb, p, sw, "holder", Low), pool, Average))
	return sw
}

// cancelTrace records which cancel hooks run, with which reason, and when.
type cancelTrace struct {
	s    *sim.Sim
	runs []string
}

// hook returns a cancel hook that records "name(reason)@elapsed" and
// returns result().
func (tr *cancelTrace) hook(name string, result func() *sim.Promise[sim.Unit]) CancelHook {
	return func(reason string) *sim.Promise[sim.Unit] {
		tr.runs = append(tr.runs, name+"("+reason+")@"+tr.s.Elapsed().String())
		return result()
	}
}

// pushBlocker pushes on sw a hook that waits on the returned resolver: a
// turn-off that reaches it stays TurningOff until it is resolved.
func pushBlocker(tb testing.TB, sw *Switch) sim.Resolver[sim.Unit] {
	tb.Helper()
	blocker, unblock := sim.Wait[sim.Unit]()
	hold := func() *sim.Promise[sim.Unit] { return blocker }
	require.NoError(tb, sw.AddHookOrFail("blocker", hold))
	return unblock
}

// openIDs returns the ids of the jobs in p's table.
func openIDs(p *Process) []string {
	var ids []string
	for _, j := range p.OpenJobs() {
		ids = append(ids, j.ID())
	}
	return ids
}

func TestJB_Job(t *testing.T) {
	t.Run("JB1_create_on_switch_not_on_fails", func(t *testing.T) {
		for _, st := range []SwitchState{Off, TurningOff} {
			t.Run(st.String(), func(t *testing.T) {
				p := newTestProcess(t)
				sw, _ := switchIn(t, p, "solver-remote", st)

				j, err := p.NewJob(sw, "solver-job", &Config{}, Low)

				require.EqualError(t, err, "Switch solver-remote is not on! (solver-job)")
				assert.Nil(t, j)
				snap := p.Snapshot()
				assert.Empty(t, snap.Jobs)
				assert.Zero(t, snap.Created)
				assert.Zero(t, snap.Gauge)
			})
		}
	})

	t.Run("JB2_job_id_is_utc_time_label_and_six_hex_digits", func(t *testing.T) {
		cest := time.Date(2026, 6, 2, 17, 2, 13, 0, time.FixedZone("CEST", 2*3600))
		tests := []struct {
			name   string
			epoch  time.Time
			after  time.Duration
			label  string
			prefix string
		}{
			{"at_epoch", time.Time{}, 0, "solver-job", "2026-06-02/150213-solver-job-"},
			{"an_hour_later", time.Time{}, time.Hour + 2*time.Minute + 3*time.Second,
				"ci-analyse", "2026-06-02/160416-ci-analyse-"},
			{"next_day", time.Time{}, 9 * time.Hour, "solver-job", "2026-06-03/000213-solver-job-"},
			{"epoch_in_another_zone", cest, 0, "solver-job", "2026-06-02/150213-solver-job-"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := NewProcess(sim.New(sim.Config{Seed: 1, Epoch: tt.epoch}))
				var j *Job
				p.Sim.At(tt.after, func() { j = newJob(t, p, p.NewSwitch("s"), tt.label, Low) })
				runIdle(t, p)

				want := "^" + regexp.QuoteMeta(tt.prefix) + "[0-9a-f]{6}$"
				assert.Regexp(t, want, j.ID())
				assert.Empty(t, j.Log(), "log after creation")
			})
		}
	})

	t.Run("JB2_job_ids_at_one_instant_are_distinct", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		seen := map[string]bool{}
		for range 200 {
			id := newJob(t, p, sw, "solver-job", Low).ID()
			require.False(t, seen[id], "job id %s drawn twice", id)
			seen[id] = true
		}
		assert.Len(t, p.OpenJobs(), 200)
	})

	t.Run("JB3_create_registers_job_gauge_and_completion_hook", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		a := newJob(t, p, sw, "solver-job", Low)
		b := newJob(t, p, sw, "solver-job", Low)

		snap := p.Snapshot()
		assert.Equal(t, 2, snap.Created)
		assert.Equal(t, 2, snap.Gauge)
		assert.ElementsMatch(t, []string{a.ID(), b.ID()}, openIDs(p))
		assert.Equal(t, []string{"job " + a.ID(), "job " + b.ID()}, sw.Hooks())
		require.Len(t, snap.Jobs, 2)
		for _, v := range snap.Jobs {
			assert.Equal(t, "solver-job", v.Label)
			assert.Equal(t, Ready, v.State)
			assert.True(t, v.LogOpen)
			assert.Empty(t, v.Log)
			assert.Equal(t, "solver-remote", v.Switch)
			assert.Equal(t, On, v.SwitchState)
			assert.Equal(t, 2, v.Hooks)
		}
	})

	t.Run("JB4_log_line_format", func(t *testing.T) {
		cest := time.Date(2026, 6, 2, 17, 2, 13, 0, time.FixedZone("CEST", 2*3600))
		tests := []struct {
			name  string
			epoch time.Time
			after time.Duration
			write func(j *Job)
			want  string
		}{
			{"at_epoch", time.Time{}, 0,
				func(j *Job) { j.Logf("Waiting for resource in pool %s", "OCluster") },
				"2026-06-02 15:02.13: Waiting for resource in pool OCluster"},
			{"dot_before_seconds", time.Time{}, time.Hour + 2*time.Minute + 3*time.Second,
				func(j *Job) { j.Logf("Got resource from pool OCluster") },
				"2026-06-02 16:04.16: Got resource from pool OCluster"},
			{"seconds_padded", time.Time{}, 47 * time.Second,
				func(j *Job) { j.Logf("Job succeeded") },
				"2026-06-02 15:03.00: Job succeeded"},
			{"utc_whatever_the_epoch_zone", cest, 0,
				func(j *Job) { j.Logf("Job succeeded") },
				"2026-06-02 15:02.13: Job succeeded"},
			{"raw_write_has_no_timestamp", time.Time{}, time.Minute,
				func(j *Job) { j.Write("Building on solver-1") },
				"Building on solver-1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := NewProcess(sim.New(sim.Config{Seed: 1, Epoch: tt.epoch}))
				j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
				p.Sim.At(tt.after, func() { tt.write(j) })
				runIdle(t, p)
				assert.Equal(t, []string{tt.want}, j.Log())
			})
		}
	})

	t.Run("JB5_write_to_closed_job_is_dropped_and_reported", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		j.Logf("Waiting for resource in pool OCluster")
		requireFulfilled(t, sw.TurnOff())
		require.False(t, j.LogOpen())

		p.Sim.At(time.Minute, func() {
			j.Logf("Got resource from pool %s", "OCluster")
			j.Write("Building on solver-1")
		})
		runIdle(t, p)

		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
		}, j.Log())
		prefix := "2026-06-02 15:03.13: Job.write(" + j.ID() + ", "
		assert.Equal(t, []string{
			prefix + `"Got resource from pool OCluster") called on closed job`,
			prefix + `"Building on solver-1") called on closed job`,
		}, p.ProcessLog())
	})

	t.Run("JB7_states_are_derived", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 1)
		sw := p.NewSwitch("analyse")
		ready := newJob(t, p, sw, "ready", Low)
		running := newJob(t, p, sw, "running", Low)

		// Ready: in the table, no start time.
		assert.Equal(t, Ready, running.State())
		_, started := running.StartTime()
		assert.False(t, started)

		// Running: start time set.
		p.Sim.At(10*time.Second, func() { StartWith[sim.Unit](running, pool, Average) })
		runIdle(t, p)
		assert.Equal(t, Running, running.State())
		start, started := running.StartTime()
		assert.True(t, started)
		assert.Equal(t, sim.DefaultEpoch.Add(10*time.Second), start)

		// Cancelled is a flag beside ready and running; neither job leaves
		// the table.
		ready.Cancel("Cancelled by user")
		running.Cancel("Cancelled by user")
		runIdle(t, p)
		for _, j := range []*Job{ready, running} {
			reason, cancelled := j.Cancelled()
			assert.True(t, cancelled, "%s cancelled", j.Label())
			assert.Equal(t, "Cancelled by user", reason)
		}
		assert.Equal(t, Ready, ready.State())
		assert.Equal(t, Running, running.State())
		views := p.Snapshot().Jobs
		require.Len(t, views, 2)
		for _, v := range views {
			if v.Label == "ready" {
				assert.Equal(t, Ready, v.State)
				assert.True(t, v.Start.IsZero(), "ready job's start %v", v.Start)
			} else {
				assert.Equal(t, Running, v.State)
				assert.Equal(t, start, v.Start)
			}
			assert.Equal(t, "Cancelled by user", v.Cancelled)
		}

		// Closed: the switch is off, the job is out of the table and its
		// log is closed.
		requireFulfilled(t, sw.TurnOff())
		for _, j := range []*Job{ready, running} {
			assert.Equal(t, Closed, j.State(), "%s state", j.Label())
			assert.False(t, j.LogOpen(), "%s log open", j.Label())
		}
		assert.Empty(t, p.OpenJobs())
	})

	t.Run("JB9_granted_at_once_logs_nothing", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 1)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)

		got := StartWith[sim.Unit](j, pool, Average)

		requireFulfilled(t, got)
		assert.Empty(t, j.Log())
		assert.Equal(t, Running, j.State())
		assert.Equal(t, 1, pool.InUse())
	})

	t.Run("JB12_returns_the_pools_resource", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("solver-remote"), "solver-job", Low)
		res, grant := sim.Wait[string]()

		got := StartWith[string](j, fixedPool{label: "OCluster", res: res}, Average)
		requirePending(t, got)
		grant.Resolve("handle to solver-1/1")

		v, err := got.Result()
		require.NoError(t, err)
		assert.Equal(t, "handle to solver-1/1", v, "StartWith yields the resource the pool granted")
		assert.Equal(t, Running, j.State())
	})

	t.Run("JB9_waits_then_logs_got_resource", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 1)
		holder := holdSlot(t, p, pool)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)

		got := StartWith[sim.Unit](j, pool, Average)
		requirePending(t, got)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool build",
		}, j.Log())
		assert.Equal(t, Ready, j.State())

		p.Sim.At(10*time.Second, func() { holder.TurnOff() })
		runIdle(t, p)

		requireFulfilled(t, got)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool build",
			"2026-06-02 15:02.23: Got resource from pool build",
		}, j.Log())
		assert.Equal(t, Running, j.State())
	})

	t.Run("JB9_request_carries_job_priority_and_switch", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 1)
		holdSlot(t, p, pool)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", High)

		StartWith[sim.Unit](j, pool, Average)

		high, low := pool.Queued()
		assert.Equal(t, [2]int{1, 0}, [2]int{high, low}, "queued (high, low)")
		assert.Equal(t, []string{"job " + j.ID(), "cancel request to pool build"}, sw.Hooks())
	})

	t.Run("JB9_request_cancel_is_a_cancel_hook", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 1)
		holdSlot(t, p, pool)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		got := StartWith[sim.Unit](j, pool, Average)

		p.Sim.At(5*time.Second, func() { j.Cancel("Cancelled by user") })
		runIdle(t, p)

		requireRejected(t, got, `Cancelled waiting for resource from pool "build"`)
		high, low := pool.Queued()
		assert.Equal(t, [2]int{0, 0}, [2]int{high, low}, "queued (high, low)")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool build",
			"2026-06-02 15:02.18: Cancelling: Cancelled by user",
		}, j.Log())
		assert.Equal(t, Ready, j.State())
		assert.Contains(t, openIDs(p), j.ID())
	})

	t.Run("JB10_start_sets_start_time_once", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("build", 2)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		var first, second *sim.Promise[sim.Unit]
		p.Sim.At(3*time.Second, func() { first = StartWith[sim.Unit](j, pool, Average) })
		p.Sim.At(8*time.Second, func() { second = StartWith[sim.Unit](j, pool, Average) })
		runIdle(t, p)

		requireFulfilled(t, first)
		requireRejected(t, second, "Job.start called twice!")
		start, started := j.StartTime()
		assert.True(t, started)
		assert.Equal(t, sim.DefaultEpoch.Add(3*time.Second), start)
	})

	t.Run("JB13_cancel_logs_then_runs_hooks_oldest_first", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("oldest", sleepFor(p.Sim, 2*time.Second)))
		j.OnCancel(tr.hook("middle", sleepFor(p.Sim, time.Second)))
		j.OnCancel(tr.hook("newest", sim.Done))

		j.Cancel("Cancelled by user")
		assert.Equal(t, []string{"2026-06-02 15:02.13: Cancelling: Cancelled by user"}, j.Log())
		runIdle(t, p)

		assert.Equal(t, []string{
			"oldest(Cancelled by user)@0s",
			"middle(Cancelled by user)@2s",
			"newest(Cancelled by user)@3s",
		}, tr.runs)
	})

	t.Run("JB13_second_cancel_only_logs", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("hook", sim.Done))

		j.Cancel("Cancelled by user")
		p.Sim.At(time.Minute, func() { j.Cancel("Timeout (1.0 minutes)") })
		runIdle(t, p)

		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Cancelling: Cancelled by user",
			"2026-06-02 15:03.13: " +
				`cancel("Timeout (1.0 minutes)"): already cancelled ("Cancelled by user")!`,
		}, j.Log())
		assert.Equal(t, []string{"hook(Cancelled by user)@0s"}, tr.runs)
		reason, _ := j.Cancelled()
		assert.Equal(t, "Cancelled by user", reason)
	})

	t.Run("JB14_cancel_never_closes", func(t *testing.T) {
		reasons := []string{
			"Cancelled by user",
			"Auto-cancelling job because it is no longer needed",
			"Timeout (1.0 minutes)",
			"Job complete",
		}
		for _, reason := range reasons {
			t.Run(reason, func(t *testing.T) {
				p := newTestProcess(t)
				sw := p.NewSwitch("analyse")
				j := newJob(t, p, sw, "ci-analyse", Low)

				j.Cancel(reason)
				runIdle(t, p)
				j.Logf("still writable")

				assert.Equal(t, Ready, j.State())
				assert.True(t, j.LogOpen())
				assert.Equal(t, []string{j.ID()}, openIDs(p))
				assert.Equal(t, 1, p.Gauge())
				assert.Equal(t, On, sw.State())
				assert.Equal(t, []string{
					"2026-06-02 15:02.13: Cancelling: " + reason,
					"2026-06-02 15:02.13: still writable",
				}, j.Log())
			})
		}
	})

	t.Run("JB15_completion_hook_cancels_with_job_complete_then_closes", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		other := newJob(t, p, p.NewSwitch("other"), "other", Low)
		j.Logf("Solving with opam-repository commit: 0fe2cb1")
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("oldest", sleepFor(p.Sim, time.Second)))
		j.OnCancel(tr.hook("newest", sleepFor(p.Sim, time.Second)))
		var midway []string
		p.Sim.At(1500*time.Millisecond, func() {
			midway = append(openIDs(p), fmt.Sprintf("log open: %t", j.LogOpen()))
		})

		done := sw.TurnOff()
		at := resolvedAt(p.Sim, done)
		runIdle(t, p)

		assert.Equal(t, []string{"oldest(Job complete)@0s", "newest(Job complete)@1s"}, tr.runs)
		assert.ElementsMatch(t, []string{j.ID(), other.ID(), "log open: true"}, midway,
			"jobs table while the hooks run")
		assert.Equal(t, 2*time.Second, *at, "closed at")
		reason, cancelled := j.Cancelled()
		assert.True(t, cancelled)
		assert.Equal(t, "Job complete", reason)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Solving with opam-repository commit: 0fe2cb1",
		}, j.Log(), "log (no Cancelling line)")
		assert.Equal(t, Closed, j.State())
		assert.False(t, j.LogOpen())
		assert.Equal(t, []string{other.ID()}, openIDs(p))
		snap := p.Snapshot()
		assert.Equal(t, 1, snap.Gauge)
		assert.Equal(t, 1, snap.Closed)
	})

	t.Run("JB15_completion_hook_after_cancel_only_closes", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("hook", sim.Done))
		j.Cancel("Cancelled by user")
		runIdle(t, p)

		requireFulfilled(t, sw.TurnOff())

		assert.Equal(t, []string{"hook(Cancelled by user)@0s"}, tr.runs)
		reason, _ := j.Cancelled()
		assert.Equal(t, "Cancelled by user", reason)
		assert.Equal(t, []string{"2026-06-02 15:02.13: Cancelling: Cancelled by user"}, j.Log())
		assert.Equal(t, Closed, j.State())
		assert.Empty(t, p.OpenJobs())
		assert.Zero(t, p.Gauge())
	})

	t.Run("JB16_switch_off_before_start_with_free_slot_leaks_it", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		requireFulfilled(t, sw.TurnOff())

		got := StartWith[sim.Unit](j, pool, Average)
		runIdle(t, p)

		requireRejected(t, got, "Switch already off!")
		assert.Equal(t, 1, pool.InUse(), "slot still in use")
		assert.Empty(t, j.Log())
		assert.Empty(t, p.ProcessLog())
		assert.Empty(t, p.OpenJobs())
		_, started := j.StartTime()
		assert.False(t, started)

		// Nobody ever gets the slot again.
		next := newJob(t, p, p.NewSwitch("next"), "next", Low)
		waiting := StartWith[sim.Unit](next, pool, Average)
		runIdle(t, p)
		requirePending(t, waiting)
		assert.Equal(t, 1, pool.InUse())
	})

	t.Run("JB16_switch_off_before_start_with_full_pool_rejects", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		holder := holdSlot(t, p, pool)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		requireFulfilled(t, sw.TurnOff())

		got := StartWith[sim.Unit](j, pool, Average)
		runIdle(t, p)

		requireRejected(t, got, `Cancelled waiting for resource from pool "analyse"`)
		high, low := pool.Queued()
		assert.Equal(t, [2]int{0, 0}, [2]int{high, low}, "queued (high, low)")
		assert.Empty(t, j.Log())
		assert.Empty(t, p.ProcessLog())

		// The cancelled request is not granted when the slot frees.
		requireFulfilled(t, holder.TurnOff())
		assert.Zero(t, pool.InUse())
	})

	t.Run("JB16_switch_off_while_waiting_rejects_start_with", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		holdSlot(t, p, pool)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		got := StartWith[sim.Unit](j, pool, Average)

		p.Sim.At(time.Minute, func() { sw.TurnOff() })
		runIdle(t, p)

		requireRejected(t, got, `Cancelled waiting for resource from pool "analyse"`)
		_, started := j.StartTime()
		assert.False(t, started)
		assert.Equal(t, Closed, j.State())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool analyse",
		}, j.Log())
		assert.Len(t, p.OpenJobs(), 1, "only the holder is left")
		high, low := pool.Queued()
		assert.Equal(t, [2]int{0, 0}, [2]int{high, low}, "queued (high, low)")
	})

	t.Run("JB16_switch_off_while_running_drops_later_writes", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		requireFulfilled(t, StartWith[sim.Unit](j, pool, Average))
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("work", sim.Done))

		// Work in flight writes after the switch is off.
		p.Sim.At(time.Minute, func() { j.Logf("Job succeeded") })
		p.Sim.At(10*time.Second, func() { sw.TurnOff() })
		runIdle(t, p)

		assert.Equal(t, []string{"work(Job complete)@10s"}, tr.runs)
		assert.Equal(t, Closed, j.State())
		assert.Empty(t, j.Log())
		assert.Equal(t, []string{
			"2026-06-02 15:03.13: Job.write(" + j.ID() + ", \"Job succeeded\") called on closed job",
		}, p.ProcessLog())
		assert.Zero(t, pool.InUse(), "slot released by the turn-off")
	})

	t.Run("JB16_switch_off_while_waiting_for_confirmation", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("deploy", 1)
		cfg := &Config{}
		cfg.SetConfirm(Average)
		sw := p.NewSwitch("deploy")
		j, err := p.NewJob(sw, "deploy", cfg, Low)
		require.NoError(t, err)
		got := StartWith[sim.Unit](j, pool, Average)

		p.Sim.At(time.Minute, func() { sw.TurnOff() })
		p.Sim.At(2*time.Minute, func() { cfg.ClearConfirm() })
		runIdle(t, p)

		requireRejected(t, got, "canceled")
		assert.Equal(t, Closed, j.State())
		_, started := j.StartTime()
		assert.False(t, started)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for confirm-threshold > average",
		}, j.Log())
		assert.Empty(t, p.ProcessLog(), "no write after the close")
		assert.Zero(t, pool.InUse(), "the pool was never asked")
		assert.Equal(t, [2]int{0, 0}, queued(pool), "queued (high, low)")
	})

	t.Run("JB16_switch_turning_off_at_start_with_leaks_free_slot", func(t *testing.T) {
		p := newTestProcess(t)
		pool := p.NewLocalPool("analyse", 1)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		// A hook pushed after the job's holds the switch in TurningOff
		// with the job still open.
		unblock := pushBlocker(t, sw)
		sw.TurnOff()

		got := StartWith[sim.Unit](j, pool, Average)
		requirePending(t, got)
		assert.Equal(t, 1, pool.InUse(), "granted at once")
		p.Sim.At(time.Minute, func() { unblock.Resolve(sim.Unit{}) })
		runIdle(t, p)

		requireRejected(t, got, "Switch already off!")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool analyse",
		}, j.Log())
		assert.Equal(t, Closed, j.State())
		_, started := j.StartTime()
		assert.False(t, started)
		assert.Equal(t, 1, pool.InUse(), "slot never freed")
		assert.Equal(t, 1, p.Snapshot().Pools[0].Leaked)
	})

	t.Run("JB16_switch_off_while_running_closes_held_log", func(t *testing.T) {
		p := newTestProcess(t)
		p.LogMode = Held
		sw := p.NewSwitch("analyse")
		j := newJob(t, p, sw, "ci-analyse", Low)
		requireFulfilled(t, StartWith[sim.Unit](j, p.NewLocalPool("analyse", 1), Average))
		require.Equal(t, 1, p.FDs.OpenOf(FDLog))

		requireFulfilled(t, sw.TurnOff())

		assert.Equal(t, Closed, j.State())
		assert.Zero(t, p.FDs.OpenOf(FDLog))
	})
}

// fixedPool is a pool whose every request is answered by one promise.
type fixedPool struct {
	label string
	res   *sim.Promise[string]
}

func (fp fixedPool) Label() string { return fp.label }

func (fp fixedPool) Get(Priority, *Switch) (*sim.Promise[string], func() *sim.Promise[sim.Unit]) {
	return fp.res, sim.Done
}

// A job cancelled while its first cancel hook is pending can close (its
// switch turns off) before the hooks have all run: the hooks still to run
// then run in order when the pending one ends, each once.
func TestJB14_close_while_a_cancel_hook_runs(t *testing.T) {
	for _, hooks := range []int{1, 2, 3} {
		t.Run(strconv.Itoa(hooks)+" hooks", func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			p := NewProcess(s)
			sw := p.NewSwitch("sw")
			j := newJob(t, p, sw, "job", Low)
			tr := &cancelTrace{s: s}
			first, finish := sim.Wait[sim.Unit]()
			j.OnCancel(tr.hook("first", func() *sim.Promise[sim.Unit] { return first }))
			for i := 1; i < hooks; i++ {
				j.OnCancel(tr.hook("next"+strconv.Itoa(i), sim.Done))
			}

			j.Cancel("stop")
			requireFulfilled(t, sw.TurnOff())
			require.Equal(t, Closed, j.State(), "job state once its switch is off")
			require.Equal(t, []string{"first(stop)@0s"}, tr.runs, "hooks run while the first is pending")

			finish.Resolve(sim.Unit{})
			want := []string{"first(stop)@0s"}
			for i := 1; i < hooks; i++ {
				want = append(want, "next"+strconv.Itoa(i)+"(stop)@0s")
			}
			assert.Equal(t, want, tr.runs, "hooks run once the first ends")
		})
	}
}
