package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// solveAction is a one-minute solve that writes one line of output.
var solveAction = Action{
	Kind:     "solve main",
	Duration: time.Minute,
	Output:   []string{"Solving main for 3 platforms"},
}

// solvedLog is the log of a remote job that ran solveAction to the end on
// worker solver-1.
var solvedLog = []string{"Building on solver-1", "Solving main for 3 platforms", "Job succeeded"}

// clusterRig is a process with an OCluster scheduler, the one connection
// to it that every submission shares, and the outer job the plugin logs
// to (OC2).
type clusterRig struct {
	p     *Process
	sched *Scheduler
	conn  *Connection
	outer *Job
}

func newClusterRig(tb testing.TB) *clusterRig {
	tb.Helper()
	p := newTestProcess(tb)
	sched := p.NewScheduler()
	return &clusterRig{
		p: p, sched: sched, conn: p.NewConnection(sched),
		outer: newJob(tb, p, p.NewSwitch("analyse"), "ci-analyse", Low),
	}
}

// get submits solveAction to the scheduler's pool "solver" through a
// plugin pool that logs to outer, as a request from a switch of its own.
func (r *clusterRig) get(outer *Job, prio Priority) (
	*sim.Promise[*Handle], func() *sim.Promise[sim.Unit]) {
	return r.conn.Pool(outer, "solver", solveAction).Get(prio, r.p.NewSwitch("caller"))
}

// handle returns a handle to solveAction running on a worker of pool
// "solver", failing tb if none is granted within a second.
func (r *clusterRig) handle(tb testing.TB) *Handle {
	tb.Helper()
	got, _ := r.get(r.outer, Low)
	runUntil(tb, r.p, r.p.Sim.Elapsed()+time.Second)
	return requireFulfilled(tb, got)
}

// pipelineUsed returns how many slots of the rate limit of pool "solver"
// with the given urgency are held.
func (r *clusterRig) pipelineUsed(urgent bool) int {
	pl, ok := r.conn.pipelines[pipelineKey{"solver", urgent}]
	if !ok {
		return 0
	}
	return pl.used
}

func TestOCluster(t *testing.T) {
	t.Run("OC1_resource_is_handle_to_running_job", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)

		h := r.handle(t)

		assert.Same(t, w, h.job.worker)
		assert.Equal(t, 1, w.running)
		assert.Equal(t, []string{"Building on solver-1"}, h.job.log)
		assert.Equal(t, 1, r.p.Snapshot().Handles)
	})

	t.Run("OC1_caller_switch_off_releases_nothing", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		sw := r.p.NewSwitch("solver-remote")
		dummy := newJob(t, r.p, sw, "solver-job", Low)
		got := StartWith[*Handle](dummy, r.conn.Pool(r.outer, "solver", solveAction), Average)
		runUntil(t, r.p, time.Second)
		h := requireFulfilled(t, got)

		assert.Equal(t, []string{"job " + dummy.ID()}, sw.Hooks(), "the pool pushed no hook")
		off := sw.TurnOff()
		runIdle(t, r.p)
		requireFulfilled(t, off)

		assert.False(t, h.released)
		assert.Equal(t, 1, r.p.Snapshot().Handles)
		// The remote job ran to the end: nothing stopped it.
		assert.Equal(t, solvedLog, h.job.log)
		assert.Equal(t, 1, w.jobs)
	})

	t.Run("OC2_plugin_logs_to_outer_job_not_dummy", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		r.conn.up = false
		r.p.Sim.At(5*time.Second, func() { r.conn.up = true })
		dummy := newJob(t, r.p, r.p.NewSwitch("solver-remote"), "solver-job", Low)

		got := StartWith[*Handle](dummy, r.conn.Pool(r.outer, "solver", solveAction), Average)
		runUntil(t, r.p, 11*time.Second)

		requireFulfilled(t, got)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Connecting to build cluster…",
			"2026-06-02 15:02.23: Waiting for worker…",
		}, r.outer.Log())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
			"2026-06-02 15:02.23: Got resource from pool OCluster",
		}, dummy.Log())
	})

	t.Run("OC3_healthy_path_through_the_stages", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)

		got, _ := r.get(r.outer, Low)

		// Init: one call to the scheduler before anything is submitted.
		requirePending(t, got)
		var before []string
		var startedBefore int
		r.p.Sim.At(4*time.Millisecond, func() { before, startedBefore = r.outer.Log(), w.jobs })
		runUntil(t, r.p, time.Second)
		assert.Empty(t, before, "outer log before the scheduler answers")
		assert.Zero(t, startedBefore, "jobs started before the scheduler answers")

		// Rate_limit, Get_ticket, Got_worker: submitted, taken, resolved.
		h := requireFulfilled(t, got)
		assert.Equal(t, []string{"2026-06-02 15:02.13: Waiting for worker…"}, r.outer.Log())
		assert.Same(t, w, h.job.worker)
		assert.Zero(t, r.sched.Pool("solver").Queued())
		assert.Zero(t, r.pipelineUsed(false), "pipeline slot held after a worker is assigned")
	})

	t.Run("OC3_reconnects_every_10s_while_down", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		r.conn.up = false
		// Up between the tries at 20 s and 30 s.
		r.p.Sim.At(21*time.Second, func() { r.conn.up = true })

		got, _ := r.get(r.outer, Low)
		at := resolvedAt(r.p.Sim, got)
		runUntil(t, r.p, time.Minute)

		requireFulfilled(t, got)
		assert.Equal(t, 30*time.Second+5*time.Millisecond, *at, "handle granted at")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Connecting to build cluster…",
			"2026-06-02 15:02.43: Waiting for worker…",
		}, r.outer.Log())
	})

	t.Run("OC3_retries_for_ever", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		r.conn.up = false

		got, _ := r.get(r.outer, Low)
		out := runUntil(t, r.p, 72*time.Hour)

		assert.Equal(t, sim.Deadline, out.Reason, "a retry is always scheduled")
		requirePending(t, got)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Connecting to build cluster…",
		}, r.outer.Log())
		assert.Zero(t, r.sched.Pool("solver").Queued())
	})

	t.Run("OC3_pipeline_limit_per_pool_and_urgency", func(t *testing.T) {
		r := newClusterRig(t)
		r.conn.MaxPipeline = 2
		outers := map[string]*Job{}
		for _, name := range []string{"low-1", "low-2", "low-3", "high-1", "other-pool"} {
			outers[name] = newJob(t, r.p, r.p.NewSwitch(name), name, Low)
		}
		r.get(outers["low-1"], Low)
		r.get(outers["low-2"], Low)
		low3, _ := r.get(outers["low-3"], Low)
		high1, _ := r.get(outers["high-1"], High)
		r.conn.Pool(outers["other-pool"], "other", solveAction).Get(Low, r.p.NewSwitch("caller"))
		runUntil(t, r.p, time.Minute)

		waitingForWorker := func() []string {
			var names []string
			for _, name := range []string{"low-1", "low-2", "low-3", "high-1", "other-pool"} {
				if len(outers[name].Log()) > 0 {
					names = append(names, name)
				}
			}
			return names
		}
		assert.Equal(t, []string{"low-1", "low-2", "high-1", "other-pool"}, waitingForWorker())
		assert.Equal(t, 3, r.sched.Pool("solver").Queued())
		assert.Equal(t, 1, r.sched.Pool("other").Queued())
		assert.Equal(t, 2, r.pipelineUsed(false))
		assert.Equal(t, 1, r.pipelineUsed(true))

		// A worker takes high-1 and low-1; low-1's slot is given back at
		// once, not when its job ends, and low-3 is submitted.
		r.p.Sim.At(2*time.Minute, func() { r.sched.Pool("solver").AddWorker("solver-1", 2) })
		runUntil(t, r.p, 2*time.Minute+time.Second)

		requireFulfilled(t, high1)
		requirePending(t, low3)
		assert.Equal(t, []string{
			"2026-06-02 15:04.13: Waiting for worker…",
		}, outers["low-3"].Log())
		assert.Equal(t, 2, r.sched.Pool("solver").Queued(), "low-2 and low-3 queued")
		assert.Equal(t, 2, r.pipelineUsed(false))
		assert.Zero(t, r.pipelineUsed(true))
	})

	t.Run("OC4_high_priority_is_urgent", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		low, _ := r.get(r.outer, Low)
		high, _ := r.get(r.outer, High)
		runUntil(t, r.p, time.Second)

		require.Len(t, sp.queue, 2)
		assert.True(t, sp.queue[0].urgent, "first queued item urgent")
		assert.False(t, sp.queue[1].urgent, "second queued item urgent")

		sp.AddWorker("solver-1", 1)
		requireFulfilled(t, high)
		requirePending(t, low)
	})

	t.Run("OC5_cancel_in_init_rejects_the_wait", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		r.conn.up = false
		r.p.Sim.At(15*time.Second, func() { r.conn.up = true })
		got, cancel := r.get(r.outer, Low)

		r.p.Sim.At(time.Second, func() { requireFulfilled(t, cancel()) })
		runIdle(t, r.p)

		requireRejected(t, got, "Cancelled")
		assert.Zero(t, r.sched.Pool("solver").Queued())
		assert.Zero(t, r.sched.Pool("solver").workers[0].jobs, "jobs started")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Connecting to build cluster…",
		}, r.outer.Log())
	})

	t.Run("OC5_cancel_in_rate_limit_rejects_the_wait", func(t *testing.T) {
		r := newClusterRig(t)
		r.conn.MaxPipeline = 1
		sp := r.sched.Pool("solver")
		first, _ := r.get(r.outer, Low)
		second, cancel := r.get(r.outer, Low)
		runUntil(t, r.p, time.Second)
		require.Equal(t, 1, sp.Queued())

		requireFulfilled(t, cancel())
		requireRejected(t, second, "Cancelled")

		// When the first item gets a worker, its slot is not handed to the
		// cancelled wait.
		w := sp.AddWorker("solver-1", 15)
		runIdle(t, r.p)
		requireFulfilled(t, first)
		assert.Equal(t, 1, w.jobs, "jobs started")
		assert.Zero(t, r.pipelineUsed(false))
		assert.Equal(t, []string{"2026-06-02 15:02.13: Waiting for worker…"}, r.outer.Log())
	})

	t.Run("OC5_cancel_in_get_ticket_cancels_the_ticket", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		dummy := newJob(t, r.p, r.p.NewSwitch("solver-remote"), "solver-job", Low)
		got := StartWith[*Handle](dummy, r.conn.Pool(r.outer, "solver", solveAction), Average)
		runUntil(t, r.p, time.Second)
		require.Equal(t, 1, sp.Queued())

		r.p.Sim.At(2*time.Second, func() { dummy.Cancel("Cancelled by user") })
		runIdle(t, r.p)

		requireRejected(t, got, "Ticket cancelled")
		assert.Zero(t, sp.Queued())
		assert.Zero(t, r.pipelineUsed(false))
		assert.Equal(t, []string{"2026-06-02 15:02.13: Waiting for worker…"}, r.outer.Log())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
			"2026-06-02 15:02.15: Cancelling: Cancelled by user",
		}, dummy.Log())
	})

	t.Run("OC5_cancel_after_got_worker_does_nothing", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		got, cancel := r.get(r.outer, Low)
		runUntil(t, r.p, time.Second)
		h := requireFulfilled(t, got)

		requireFulfilled(t, cancel())
		runIdle(t, r.p)

		assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, h.Result()))
		assert.Equal(t, solvedLog, h.job.log)
		assert.Equal(t, 1, w.jobs)
	})

	t.Run("OC7_ticket_resolves_handle_when_worker_takes_item", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		tk := sp.Submit(solveAction, false)
		requirePending(t, tk.Job())

		w := sp.AddWorker("solver-1", 1)
		h := requireFulfilled(t, tk.Job())
		assert.Same(t, w, h.job.worker)
		assert.Zero(t, sp.Queued())
	})

	t.Run("OC7_cancel_queued_item_fails_ticket_cancelled", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		tk := sp.Submit(solveAction, false)

		assert.Equal(t, Ok(sim.Unit{}), requireFulfilled(t, tk.Cancel()))

		requireRejected(t, tk.Job(), "Ticket cancelled")
		_, err := tk.Job().Result()
		assert.ErrorIs(t, err, ErrTicketCancelled)
		assert.Zero(t, sp.Queued())
		w := sp.AddWorker("solver-1", 1)
		assert.Zero(t, w.jobs, "jobs started")
	})

	t.Run("OC7_cancel_running_item_is_forwarded_to_worker", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		w := sp.AddWorker("solver-1", 1)
		tk := sp.Submit(solveAction, false)
		next := sp.Submit(solveAction, false)
		h := requireFulfilled(t, tk.Job())

		r.p.Sim.At(10*time.Second, func() { tk.Cancel() })
		runUntil(t, r.p, 11*time.Second)

		// The worker stopped the job at 10 s and took the next item.
		assert.Equal(t, sim.Rejected, h.job.work.State())
		requireFulfilled(t, next.Job())
		assert.Equal(t, 2, w.jobs)
		assert.NotContains(t, h.job.log, "Solving main for 3 platforms")
	})

	t.Run("OC7_release_queued_item_removes_it", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		tk := sp.Submit(solveAction, false)

		tk.Release()

		requireRejected(t, tk.Job(), "Ticket released (cancelled)")
		assert.Zero(t, sp.Queued())
	})

	t.Run("OC7_release_running_item_does_nothing", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		sp.AddWorker("solver-1", 1)
		tk := sp.Submit(solveAction, false)
		h := requireFulfilled(t, tk.Job())

		tk.Release()
		runIdle(t, r.p)

		assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, h.Result()))
	})

	t.Run("OC8_worker_runs_at_most_its_capacity", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		w := sp.AddWorker("solver-1", 2)
		var tickets []*Ticket
		for range 3 {
			tickets = append(tickets, sp.Submit(solveAction, false))
		}
		third := resolvedAt(r.p.Sim, tickets[2].Job())

		assert.Equal(t, 2, w.running)
		assert.Equal(t, 1, sp.Queued())
		runIdle(t, r.p)
		assert.Equal(t, time.Minute, *third, "third item taken at")
		assert.Zero(t, w.running)
	})

	t.Run("OC8_finished_job_writes_job_succeeded", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		runIdle(t, r.p)

		assert.Equal(t, solvedLog, h.job.log)
		assert.True(t, h.job.logDone, "log closed")
		assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, h.Result()))
	})

	t.Run("OC8_release_of_last_handle_stops_remote_job", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		w := sp.AddWorker("solver-1", 1)
		h := r.handle(t)
		next := sp.Submit(solveAction, false)
		requirePending(t, next.Job())
		nextAt := resolvedAt(r.p.Sim, next.Job())

		r.p.Sim.At(10*time.Second, h.Release)
		runIdle(t, r.p)

		assert.Equal(t, sim.Rejected, h.job.work.State(), "released job's work")
		assert.Equal(t, 10*time.Second, *nextAt, "next item taken at")
		assert.NotContains(t, h.job.log, "Solving main for 3 platforms")
		assert.Equal(t, 2, w.jobs)
		assert.Equal(t, 1, r.p.Snapshot().Handles, "handles (the next item's)")
	})

	t.Run("OC9_outer_cancel_cancels_remote_job", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		res := RunJob(r.outer, h)
		at := resolvedAt(r.p.Sim, res)

		r.p.Sim.At(10*time.Second, func() { r.outer.Cancel("Cancelled by user") })
		runIdle(t, r.p)

		assert.Equal(t, sim.Rejected, h.job.work.State(), "remote job's work")
		assert.Equal(t, 10*time.Second, *at, "run_job resolved at")
		assert.Zero(t, w.running)
		// What the worker writes after the cancel is not pinned here: OC8
		// says a cancelled solve still ends "Job succeeded", which the
		// model does not do yet.
		log := r.outer.Log()
		require.GreaterOrEqual(t, len(log), 3)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"Building on solver-1",
			"2026-06-02 15:02.23: Cancelling: Cancelled by user",
		}, log[:3])
		assert.NotContains(t, log, "Solving main for 3 platforms")
	})

	t.Run("OC10_remote_log_copied_verbatim_until_closed", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t) // runs the clock to 1 s
		r.outer.Logf("before run_job")
		res := RunJob(r.outer, h)
		var midway []string
		r.p.Sim.At(30*time.Second, func() { midway = r.outer.Log() })
		runIdle(t, r.p)

		want := []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"2026-06-02 15:02.14: before run_job",
			"Building on solver-1",
		}
		assert.Equal(t, want, midway, "outer log while the solve runs")
		want = append(want, "Solving main for 3 platforms", "Job succeeded")
		assert.Equal(t, want, r.outer.Log())
		requireFulfilled(t, res)
	})

	t.Run("OC11_returns_ok_output", func(t *testing.T) {
		r := newClusterRig(t)
		r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		res := RunJob(r.outer, h)
		at := resolvedAt(r.p.Sim, res)
		requirePending(t, res)

		runIdle(t, r.p)

		assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, res))
		assert.Equal(t, time.Minute+5*time.Millisecond, *at, "run_job resolved at")
	})
}
