package model

import (
	"errors"
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

// startDummy creates a solver-job on a switch of its own and starts it on
// a plugin pool that submits solveAction to pool "solver" and logs to
// outer, as remote_solve does.
func (r *clusterRig) startDummy(tb testing.TB) (*Job, *sim.Promise[*Handle]) {
	tb.Helper()
	dummy := newJob(tb, r.p, r.p.NewSwitch("solver-remote"), "solver-job", Low)
	return dummy, StartWith[*Handle](dummy, r.conn.Pool(r.outer, "solver", solveAction), Average)
}

// running returns a handle to action running on a worker of pool
// "solver", failing tb if none is granted within a second.
func (r *clusterRig) running(tb testing.TB, action Action) *Handle {
	tb.Helper()
	got, _ := r.conn.Pool(r.outer, "solver", action).Get(Low, r.p.NewSwitch("caller"))
	runUntil(tb, r.p, r.p.Sim.Elapsed()+time.Second)
	return requireFulfilled(tb, got)
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
		r.conn.Disconnect()
		r.p.Sim.At(5*time.Second, r.conn.Reconnect)
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
		r.conn.Disconnect()
		// Up between the tries at 20 s and 30 s.
		r.p.Sim.At(21*time.Second, r.conn.Reconnect)

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
		r.conn.Disconnect()

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
		r.conn.Disconnect()
		r.p.Sim.At(15*time.Second, r.conn.Reconnect)
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

		var answer *sim.Promise[Result[sim.Unit]]
		r.p.Sim.At(10*time.Second, func() { answer = tk.Cancel() })
		nextAt := resolvedAt(r.p.Sim, next.Job())
		runUntil(t, r.p, 11*time.Second)

		// The worker stopped the job at 10 s and took the next item.
		assert.Equal(t, Ok(sim.Unit{}), requireFulfilled(t, answer))
		assert.Equal(t, Ok(CancelledResponse), requireFulfilled(t, h.Result()))
		assert.Equal(t, []string{"Building on solver-1", "Job succeeded"}, h.job.log)
		assert.Equal(t, 10*time.Second, *nextAt, "next item taken at")
		assert.Equal(t, 2, w.jobs)
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

		// The solve was cancelled: it ends as a success, with nobody to
		// read it.
		assert.Equal(t, []string{"Building on solver-1", "Job succeeded"}, h.job.log)
		assert.Equal(t, Ok(CancelledResponse), requireFulfilled(t, h.job.result))
		assert.Equal(t, 10*time.Second, *nextAt, "next item taken at")
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

		// The cancel is a call to the scheduler: it reaches the worker
		// one RPC later, and the cancelled solve ends "Job succeeded"
		// with the cancellation as its result (OC8).
		assert.Equal(t, 10*time.Second+5*time.Millisecond, *at, "run_job resolved at")
		assert.Equal(t, Ok(CancelledResponse), requireFulfilled(t, res))
		assert.Zero(t, w.running)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"Building on solver-1",
			"2026-06-02 15:02.23: Cancelling: Cancelled by user",
			"Job succeeded",
		}, r.outer.Log())
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
	t.Run("OC5_cancel_ticket_failure_is_logged", func(t *testing.T) {
		draining := errors.New("Failed: pool solver is draining")
		tests := []struct {
			name    string
			fault   func(r *clusterRig, dummy *Job)
			wantErr string // the rejection of start_with
			wantLog []string
		}{
			{
				// The scheduler fails the ticket at 2 s; turning the
				// switch off at 3 s cancels it, and the broken ticket
				// answers with its error.
				name: "scheduler_error",
				fault: func(r *clusterRig, dummy *Job) {
					sp := r.sched.Pool("solver")
					r.p.Sim.At(2*time.Second, func() { sp.FailWaiting(draining) })
					r.p.Sim.At(3*time.Second, func() { dummy.Switch().TurnOff() })
				},
				wantErr: draining.Error(),
				wantLog: []string{
					"2026-06-02 15:02.13: Waiting for worker…",
					"2026-06-02 15:02.16: Cancel ticket failed: Failed: pool solver is draining",
				},
			},
			{
				// The cancel is in flight when the connection breaks: the
				// call fails, and the submission, back in Init, is not
				// submitted again because it was cancelled.
				name: "scheduler_unreachable",
				fault: func(r *clusterRig, dummy *Job) {
					r.p.Sim.At(2*time.Second, func() { dummy.Cancel("Cancelled by user") })
					r.p.Sim.At(2*time.Second+time.Millisecond, r.conn.Disconnect)
					r.p.Sim.At(time.Minute, r.conn.Reconnect)
				},
				wantErr: "Cancelled",
				wantLog: []string{
					"2026-06-02 15:02.13: Waiting for worker…",
					"2026-06-02 15:02.15: Cancel ticket failed: Disconnected: scheduler connection lost",
					"2026-06-02 15:02.15: Connecting to build cluster…",
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newClusterRig(t)
				sp := r.sched.Pool("solver")
				dummy, got := r.startDummy(t)
				tt.fault(r, dummy)
				runIdle(t, r.p)

				requireRejected(t, got, tt.wantErr)
				assert.Equal(t, tt.wantLog, r.outer.Log())
				assert.Zero(t, sp.Queued(), "items queued")
				assert.Zero(t, r.pipelineUsed(false), "pipeline slots held")
				w := sp.AddWorker("solver-1", 1)
				assert.Zero(t, w.jobs, "jobs started for the failed submission")
			})
		}
	})

	t.Run("OC6_error_while_connected_fails_the_wait", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		dummy, got := r.startDummy(t)
		gotAt := resolvedAt(r.p.Sim, got)
		draining := errors.New("Failed: pool solver is draining")
		r.p.Sim.At(2*time.Second, func() { sp.FailWaiting(draining) })
		runIdle(t, r.p)

		requireRejected(t, got, draining.Error())
		assert.Equal(t, 2*time.Second, *gotAt, "start_with rejected at")
		assert.Zero(t, sp.Queued(), "items queued")
		assert.Zero(t, r.pipelineUsed(false), "pipeline slots held")
		w := sp.AddWorker("solver-1", 1)
		assert.Zero(t, w.jobs, "jobs started: the submission is not made again")

		// The stage stayed Get_ticket: a later cancel still goes to the
		// ticket, which answers with the scheduler's error.
		r.p.Sim.At(time.Minute, func() { dummy.Cancel("Cancelled by user") })
		runIdle(t, r.p)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"2026-06-02 15:03.13: Cancel ticket failed: Failed: pool solver is draining",
		}, r.outer.Log())
	})

	t.Run("OC6_disconnect_resubmits_transparently", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		dummy, got := r.startDummy(t)
		var queuedAfterBreak int
		r.p.Sim.At(2*time.Second, r.conn.Disconnect)
		r.p.Sim.At(3*time.Second, func() { queuedAfterBreak = sp.Queued() })
		r.p.Sim.At(25*time.Second, r.conn.Reconnect)
		var w *Worker
		r.p.Sim.At(time.Minute, func() { w = sp.AddWorker("solver-1", 15) })
		runUntil(t, r.p, 2*time.Minute)

		// The scheduler dropped the lost client's ticket; Init tried at
		// 2 s, 12 s, 22 s and 32 s, and submitted again at 32.005 s.
		assert.Zero(t, queuedAfterBreak, "items queued after the break")
		h := requireFulfilled(t, got)
		assert.Same(t, w, h.job.worker)
		assert.Equal(t, 1, w.jobs, "jobs started")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"2026-06-02 15:02.15: Connecting to build cluster…",
			"2026-06-02 15:02.45: Waiting for worker…",
		}, r.outer.Log())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
			"2026-06-02 15:03.13: Got resource from pool OCluster",
		}, dummy.Log(), "the caller notices nothing")
		assert.Equal(t, Running, dummy.State())
		assert.Zero(t, r.pipelineUsed(false), "pipeline slots held")
		assert.Equal(t, 1, r.p.Snapshot().Handles)
	})

	t.Run("OC6_disconnect_sends_rate_limited_submission_back_to_init", func(t *testing.T) {
		r := newClusterRig(t)
		r.conn.MaxPipeline = 1
		first := newJob(t, r.p, r.p.NewSwitch("first"), "first", Low)
		second := newJob(t, r.p, r.p.NewSwitch("second"), "second", Low)
		r.get(first, Low)
		r.get(second, Low)
		var midway []int
		r.p.Sim.At(time.Second, func() {
			midway = append(midway, r.pipelineUsed(false), r.conn.View().Pipelines[0].Waiting)
		})
		r.p.Sim.At(2*time.Second, r.conn.Disconnect)
		r.p.Sim.At(3*time.Second, func() { midway = append(midway, r.pipelineUsed(false)) })
		r.p.Sim.At(25*time.Second, r.conn.Reconnect)
		runUntil(t, r.p, time.Minute)

		// At 1 s the first holds the slot and the second waits for it;
		// after the break both are back in Init, holding nothing.
		assert.Equal(t, []int{1, 1, 0}, midway, "slots held and waits at 1 s, slots at 3 s")
		for _, j := range []*Job{first, second} {
			assert.Contains(t, j.Log(), "2026-06-02 15:02.15: Connecting to build cluster…", j.Label())
		}
		// After the reconnection one is submitted, the other waits for
		// the slot again.
		assert.Equal(t, 1, r.pipelineUsed(false))
		assert.Equal(t, 1, r.sched.Pool("solver").Queued())
		v := r.conn.View()
		assert.Equal(t, 1, v.Waiting, "submissions waiting for a worker")
		assert.Equal(t, 1, v.Pipelines[0].Waiting, "submissions waiting for a slot")
	})

	t.Run("OC7_worker_disconnect_requeues", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		hung := sp.AddWorker("solver-1", 2)
		hung.Hang()
		x := sp.Submit(solveAction, false) // the hung worker's last pull
		y := sp.Submit(solveAction, false)
		z := sp.Submit(solveAction, true)
		require.Equal(t, []*Ticket{z, y}, sp.queue, "main queue")
		require.Equal(t, []*Ticket{x}, hung.queue, "hung worker's queue")
		requirePending(t, x.Job())

		hung.Disconnect()

		// x goes back before y, the items of its urgency already queued.
		assert.Equal(t, []*Ticket{z, x, y}, sp.queue, "main queue")
		assert.Empty(t, hung.queue)
		w := sp.AddWorker("solver-2", 3)
		for i, tk := range []*Ticket{z, x, y} {
			h := requireFulfilled(t, tk.Job())
			assert.Same(t, w, h.job.worker, "item %d taken by", i)
			assert.Equal(t, []string{"Building on solver-2"}, h.job.log, "item %d", i)
		}
		assert.Zero(t, hung.jobs, "jobs the hung worker started")
	})

	t.Run("OC7_reconnected_worker_takes_work_again", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		w := sp.AddWorker("solver-1", 1)
		first := sp.Submit(solveAction, false)
		w.Disconnect()
		second := sp.Submit(solveAction, false)
		require.Equal(t, 1, sp.Queued(), "items queued while no worker is connected")

		w.Reconnect()

		assert.Same(t, w, sp.Worker("solver-1"))
		lost := requireFulfilled(t, first.Job())
		assert.Equal(t, Error[string](ErrWorkerLost), requireFulfilled(t, lost.Result()))
		h := requireFulfilled(t, second.Job())
		assert.Equal(t, "solver-1/2", h.job.id, "job id")
		assert.Equal(t, WorkerView{Name: "solver-1", Capacity: 1, Running: 1, Connected: true},
			r.sched.View()[0].Workers[0])
	})

	t.Run("OC7_item_in_a_worker_queue_can_be_cancelled_or_released", func(t *testing.T) {
		tests := []struct {
			name string
			drop func(*Ticket)
			want string
		}{
			{"cancel", func(tk *Ticket) { tk.Cancel() }, "Ticket cancelled"},
			{"release", (*Ticket).Release, "Ticket released (cancelled)"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newClusterRig(t)
				sp := r.sched.Pool("solver")
				w := sp.AddWorker("solver-1", 1)
				w.Hang()
				tk := sp.Submit(solveAction, false)
				require.Len(t, w.queue, 1)

				tt.drop(tk)
				w.Unhang()

				requireRejected(t, tk.Job(), tt.want)
				assert.Empty(t, w.queue)
				assert.Zero(t, w.jobs, "jobs started")
			})
		}
	})

	t.Run("OC8_solver_exception_writes_uncaught_exception_and_fails", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		raising := solveAction
		raising.Raise = "Not_found"
		h := r.running(t, raising)
		res := RunJob(r.outer, h)
		runIdle(t, r.p)

		assert.Equal(t, []string{"Building on solver-1", "Uncaught exception: Not_found"}, h.job.log)
		assert.True(t, h.job.logDone, "log closed")
		got := requireFulfilled(t, res)
		require.EqualError(t, got.Err, "Not_found", "run_job result")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"Building on solver-1",
			"Uncaught exception: Not_found",
		}, r.outer.Log())
		assert.Zero(t, w.running)
	})

	t.Run("OC8_cancelled_solve_succeeds_with_cancellation", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		var answer *sim.Promise[Result[sim.Unit]]
		r.p.Sim.At(10*time.Second, func() { answer = h.Cancel() })
		doneAt := resolvedAt(r.p.Sim, h.job.result)
		runIdle(t, r.p)

		assert.Equal(t, Ok(sim.Unit{}), requireFulfilled(t, answer))
		assert.Equal(t, 10*time.Second+5*time.Millisecond, *doneAt, "solve ended at")
		assert.Equal(t, Ok(CancelledResponse), requireFulfilled(t, h.Result()))
		assert.Equal(t, []string{"Building on solver-1", "Job succeeded"}, h.job.log)
		assert.True(t, h.job.logDone, "log closed")
		assert.Zero(t, w.running)
	})

	t.Run("OC9_cancel_failure_is_logged", func(t *testing.T) {
		tests := []struct {
			name  string
			fault func(r *clusterRig, w *Worker)
			want  error
		}{
			{"scheduler_connection_lost",
				func(r *clusterRig, _ *Worker) { r.conn.Disconnect() }, ErrConnectionLost},
			{"worker_lost",
				func(_ *clusterRig, w *Worker) { w.Disconnect() }, ErrWorkerLost},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newClusterRig(t)
				w := r.sched.Pool("solver").AddWorker("solver-1", 15)
				h := r.handle(t)
				res := RunJob(r.outer, h)

				// The remote cancel is in flight when the fault strikes.
				r.p.Sim.At(10*time.Second, func() { r.outer.Cancel("Cancelled by user") })
				r.p.Sim.At(10*time.Second+time.Millisecond, func() { tt.fault(r, w) })
				runIdle(t, r.p)

				got := requireFulfilled(t, res)
				assert.ErrorIs(t, got.Err, tt.want, "run_job result")
				assert.Equal(t, []string{
					"2026-06-02 15:02.13: Waiting for worker…",
					"Building on solver-1",
					"2026-06-02 15:02.23: Cancelling: Cancelled by user",
					"2026-06-02 15:02.23: Cancel failed: " + tt.want.Error(),
				}, r.outer.Log())
			})
		}
	})

	t.Run("OC11_lost_worker_gives_error_result", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		res := RunJob(r.outer, h)
		at := resolvedAt(r.p.Sim, res)
		r.p.Sim.At(10*time.Second, w.Disconnect)
		runIdle(t, r.p)

		assert.Equal(t, 10*time.Second, *at, "run_job resolved at")
		assert.Equal(t, Error[string](ErrWorkerLost), requireFulfilled(t, res))
		assert.Equal(t, Error[string](ErrWorkerLost), requireFulfilled(t, h.Result()))
		assert.Equal(t, Error[LogChunk](ErrWorkerLost), requireFulfilled(t, h.Log(0)))
		assert.Equal(t, ErrWorkerLost, h.Problem())
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for worker…",
			"Building on solver-1",
		}, r.outer.Log())
		assert.Equal(t, WorkerView{Name: "solver-1", Capacity: 15},
			r.sched.View()[0].Workers[0], "the lost worker")

		// A broken handle is still counted until it is released.
		assert.Equal(t, 1, r.p.Snapshot().Handles, "handles before release")
		h.Release()
		assert.Zero(t, r.p.Snapshot().Handles, "handles after release")
	})

	t.Run("OC11_lost_scheduler_connection_gives_error_result", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		h := r.handle(t)
		res := RunJob(r.outer, h)
		at := resolvedAt(r.p.Sim, res)
		r.p.Sim.At(10*time.Second, r.conn.Disconnect)
		runIdle(t, r.p)

		assert.Equal(t, 10*time.Second, *at, "run_job resolved at")
		assert.Equal(t, Error[string](ErrConnectionLost), requireFulfilled(t, res))
		assert.Equal(t, Error[sim.Unit](ErrConnectionLost), requireFulfilled(t, h.Cancel()))
		// The scheduler dropped the lost client's reference, the last
		// one, so the worker stopped the job.
		assert.Equal(t, []string{"Building on solver-1", "Job succeeded"}, h.job.log)
		assert.Zero(t, w.running)
		assert.Equal(t, ConnectionView{Lost: 1, Handles: 1, Broken: 1,
			Pipelines: []PipelineView{{Pool: "solver"}}}, r.conn.View())

		h.Release()
		assert.Zero(t, r.p.Snapshot().Handles, "handles after release")
		assert.Zero(t, r.conn.View().Handles, "connection's handles after release")
	})

	t.Run("F5_no_worker_ever_takes_the_job", func(t *testing.T) {
		r := newClusterRig(t)
		dummy, got := r.startDummy(t)
		runUntil(t, r.p, 72*time.Hour)

		requirePending(t, got)
		assert.Equal(t, []string{"2026-06-02 15:02.13: Waiting for worker…"}, r.outer.Log())
		assert.Equal(t, []string{"2026-06-02 15:02.13: Waiting for resource in pool OCluster"}, dummy.Log())
		assert.Equal(t, []SchedPoolView{{Name: "solver", Queued: 1}}, r.sched.View())
		assert.Equal(t, 1, r.pipelineUsed(false), "pipeline slots held")
	})

	t.Run("F6_hung_worker_makes_no_progress_until_it_thaws", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		w := sp.AddWorker("solver-1", 2)
		h := r.handle(t) // started at 5 ms, due at 1m0.005s
		res := RunJob(r.outer, h)
		at := resolvedAt(r.p.Sim, res)
		var next *Ticket
		r.p.Sim.At(10*time.Second, w.Hang)
		r.p.Sim.At(20*time.Second, func() { next = sp.Submit(solveAction, false) })
		runUntil(t, r.p, 2*time.Hour)

		requirePending(t, res)
		requirePending(t, next.Job())
		assert.Equal(t, []string{"Building on solver-1"}, h.job.log)
		assert.Equal(t, WorkerView{Name: "solver-1", Capacity: 2, Running: 1, Queued: 1,
			Connected: true, Hung: true}, r.sched.View()[0].Workers[0])

		// Thawed, the job goes on with the 50.005 s it had left, and the
		// worker starts the item it was given.
		r.p.Sim.At(2*time.Hour, w.Unhang)
		runIdle(t, r.p)
		assert.Equal(t, 2*time.Hour+50*time.Second+5*time.Millisecond, *at, "run_job resolved at")
		assert.Equal(t, Ok("solve main done by solver-1"), requireFulfilled(t, res))
		assert.Equal(t, solvedLog, requireFulfilled(t, next.Job()).job.log)
		assert.Equal(t, 2, w.jobs)
	})

	t.Run("F6_cancel_and_release_reach_a_hung_worker_when_it_thaws", func(t *testing.T) {
		r := newClusterRig(t)
		w := r.sched.Pool("solver").AddWorker("solver-1", 15)
		cancelled, released := r.handle(t), r.handle(t)
		var answer *sim.Promise[Result[sim.Unit]]
		r.p.Sim.At(10*time.Second, w.Hang)
		r.p.Sim.At(20*time.Second, func() {
			answer = cancelled.Cancel()
			released.Release()
		})
		answerAt := resolvedAt(r.p.Sim, cancelled.job.result)
		r.p.Sim.At(time.Hour, func() {
			requirePending(t, answer)
			assert.Equal(t, []string{"Building on solver-1"}, released.job.log, "released job's log")
			w.Unhang()
		})
		runIdle(t, r.p)

		assert.Equal(t, Ok(sim.Unit{}), requireFulfilled(t, answer))
		assert.Equal(t, time.Hour, *answerAt, "cancelled solve ended at")
		for _, h := range []*Handle{cancelled, released} {
			assert.Equal(t, []string{"Building on solver-1", "Job succeeded"}, h.job.log)
			assert.Equal(t, Ok(CancelledResponse), requireFulfilled(t, h.job.result))
		}
		assert.Zero(t, w.running)
	})

	t.Run("Sites_inject_fails_the_ticket_or_the_solve", func(t *testing.T) {
		tests := []struct {
			site    string
			detail  string
			wantErr string   // the rejection of the request, if any
			wantLog []string // the outer job's log
			remote  []string // the remote job's log, if one ran
		}{
			// The scheduler fails the ticket while connected (F2).
			{site: "ticket", detail: "solve main", wantErr: "boom", wantLog: []string{
				"2026-06-02 15:02.13: Waiting for worker…",
			}},
			// The solve raises (F1).
			{site: "solve", detail: "solver-1", wantLog: []string{
				"2026-06-02 15:02.13: Waiting for worker…",
			}, remote: []string{"Building on solver-1", "Uncaught exception: boom"}},
		}
		for _, tt := range tests {
			t.Run(tt.site, func(t *testing.T) {
				r := newClusterRig(t)
				// The hook fails the first pass through the site.
				var asked []string
				fired := false
				r.p.Inject = func(site Site, detail string) error {
					asked = append(asked, string(site)+":"+detail)
					if string(site) != tt.site || fired {
						return nil
					}
					fired = true
					return errors.New("boom")
				}
				got, _ := r.get(r.outer, Low)
				r.p.Sim.At(time.Second, func() { r.sched.Pool("solver").AddWorker("solver-1", 1) })
				runIdle(t, r.p)

				assert.Contains(t, asked, tt.site+":"+tt.detail)
				assert.Equal(t, tt.wantLog, r.outer.Log())
				if tt.wantErr != "" {
					requireRejected(t, got, tt.wantErr)
					return
				}
				h := requireFulfilled(t, got)
				assert.Equal(t, tt.remote, h.job.log)
			})
		}
	})

	t.Run("Sites_pass_submit_ticket_and_solve_with_the_outer_job", func(t *testing.T) {
		r := newClusterRig(t)
		var passes []string
		r.p.OnPass = func(ps Pass) {
			if ps.Job == r.outer {
				passes = append(passes, string(ps.Site)+":"+ps.Detail+"@"+r.p.Sim.Elapsed().String())
			}
		}
		r.get(r.outer, Low)
		r.p.Sim.At(time.Second, func() { r.sched.Pool("solver").AddWorker("solver-1", 1) })
		runIdle(t, r.p)

		assert.Equal(t, []string{
			"submit:solve main@0s",
			"ticket:solve main@5ms",
			"solve:solver-1@1s",
		}, passes)
	})

	t.Run("View_shows_pools_workers_and_connection", func(t *testing.T) {
		r := newClusterRig(t)
		sp := r.sched.Pool("solver")
		sp.AddWorker("solver-1", 2)
		sp.AddWorker("solver-2", 1).Hang()
		r.sched.Pool("other")
		r.get(r.outer, Low)  // taken by solver-1
		r.get(r.outer, Low)  // given to the hung solver-2
		r.get(r.outer, High) // taken by solver-1
		r.conn.Pool(r.outer, "other", solveAction).Get(Low, r.p.NewSwitch("caller"))
		runUntil(t, r.p, time.Second)

		assert.Equal(t, []SchedPoolView{
			{Name: "other", Queued: 1},
			{Name: "solver", Workers: []WorkerView{
				{Name: "solver-1", Capacity: 2, Running: 2, Connected: true},
				{Name: "solver-2", Capacity: 1, Queued: 1, Connected: true, Hung: true},
			}},
		}, r.sched.View())
		assert.Equal(t, ConnectionView{
			Up: true,
			Pipelines: []PipelineView{
				{Pool: "other", Used: 1},
				{Pool: "solver", Used: 1},
				{Pool: "solver", Urgent: true},
			},
			Waiting: 2, Handles: 2,
		}, r.conn.View())
	})
}
