package ocamlci_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/sim"
)

// rig is a process with an OCluster scheduler whose pool "solver" has one
// worker of capacity 15, and the connection to it.
type rig struct {
	p     *model.Process
	sched *model.Scheduler
	conn  *model.Connection
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	p := model.NewProcess(sim.New(sim.Config{Seed: 1}))
	sched := p.NewScheduler()
	sched.Pool("solver").AddWorker("solver-1", 15)
	return &rig{p: p, sched: sched, conn: p.NewConnection(sched)}
}

// design returns the design called name, built on r.
func (r *rig) design(tb testing.TB, name string) ocamlci.Design {
	tb.Helper()
	switch name {
	case "module":
		return ocamlci.NewModuleLevel(r.p, r.conn)
	case "per-call":
		return ocamlci.NewPerCall(r.p, r.conn)
	case "local":
		return ocamlci.NewLocal(r.p)
	}
	tb.Fatalf("no design %q", name)
	return nil
}

// analysis is an analysis of ocaml-ci against opam-repository 0fe2cb1
// whose n solves take a minute each and cover 3 platforms.
func analysis(n int) ocamlci.Analysis {
	durations := []time.Duration{time.Minute, time.Minute, time.Minute}
	return ocamlci.Analysis{
		Repo: "ocurrent/ocaml-ci", Commit: "0fe2cb1",
		Solves: ocamlci.Solves(n, durations[:n], 3),
	}
}

// runIdle runs p until no event is left, failing tb if some loop never
// ends.
func runIdle(tb testing.TB, p *model.Process) {
	tb.Helper()
	out := p.Sim.Run(sim.Budget{MaxEvents: 1_000_000})
	require.Equal(tb, sim.Idle, out.Reason, "Run() = %v (%v), want idle", out.Reason, out.Err)
}

// requireResult returns the result pr is fulfilled with, failing tb unless
// it is.
func requireResult[T any](tb testing.TB, pr *sim.Promise[T]) T {
	tb.Helper()
	v, err := pr.Result()
	require.Equal(tb, sim.Fulfilled, pr.State(), "promise %v (%v), want fulfilled",
		pr.State(), err)
	return v
}

// jobsLabelled returns the jobs in p's table with the given label.
func jobsLabelled(p *model.Process, label string) []*model.Job {
	var out []*model.Job
	for _, j := range p.OpenJobs() {
		if j.Label() == label {
			out = append(out, j)
		}
	}
	return out
}

// at runs fn at elapsed virtual time d.
func at(p *model.Process, d time.Duration, fn func()) { p.Sim.At(d, fn) }

// scripted is a Design whose solves take their request's duration and then
// fail with errs[kind], if set, or succeed. It records when each solve
// starts.
type scripted struct {
	s      *sim.Sim
	errs   map[string]error
	starts []string
}

func (d *scripted) Name() string { return "scripted" }

func (d *scripted) Solve(_ *model.Job, req ocamlci.SolveRequest) *sim.Promise[string] {
	d.starts = append(d.starts, fmt.Sprintf("%s/%d@%v", req.Kind, req.Platforms, d.s.Elapsed()))
	return sim.Bind(d.s.Sleep(req.Duration), func(sim.Unit) *sim.Promise[string] {
		if err := d.errs[req.Kind]; err != nil {
			return sim.Fail[string](err)
		}
		return sim.Return(req.Kind + " solved")
	})
}

// The two lines of a solver-job's log, stamped at the given time.
func dummyLog(stamp string) []string {
	return []string{
		stamp + ": Waiting for resource in pool OCluster",
		stamp + ": Got resource from pool OCluster",
	}
}

func TestOCamlCI(t *testing.T) {
	t.Run("CI1_analysis_is_a_ci_analyse_job_in_the_analyse_pool", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "local"))
		require.Equal(t, "analyse", b.Pool.Label())
		require.Equal(t, 400, b.Pool.Capacity())

		res := b.Analyse(analysis(1))
		jobs := r.p.OpenJobs()
		require.Len(t, jobs, 1)
		job := jobs[0]
		assert.Equal(t, "ci-analyse", job.Label())
		assert.Equal(t, model.Running, job.State())
		assert.Equal(t, 1, b.Pool.InUse())

		var atResult []string
		sim.On(res, func(model.Result[string], error) {
			atResult = []string{job.State().String(), fmt.Sprint(b.Pool.InUse())}
		})
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("main done locally"), requireResult(t, res))
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Solving with opam-repository commit: 0fe2cb1",
			"Solving main for 3 platforms",
			"2026-06-02 15:03.13: Job succeeded",
		}, job.Log())
		assert.Equal(t, []string{"closed", "0"}, atResult,
			"job state and slots in use when the result is delivered")
		assert.Empty(t, r.p.ProcessLog())
	})

	t.Run("CI1_failed_analysis_logs_job_failed", func(t *testing.T) {
		r := newRig(t)
		d := &scripted{s: r.p.Sim, errs: map[string]error{"main": errors.New("no solution")}}
		b := ocamlci.NewBackend(r.p, d)

		res := b.Analyse(analysis(1))
		job := r.p.OpenJobs()[0]
		runIdle(t, r.p)

		got := requireResult(t, res)
		require.EqualError(t, got.Err, "no solution")
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Solving with opam-repository commit: 0fe2cb1",
			"2026-06-02 15:03.13: Job failed: no solution",
		}, job.Log())
		assert.Equal(t, model.Closed, job.State())
	})

	t.Run("CI1_cancelled_analysis_is_error_cancelled", func(t *testing.T) {
		for _, name := range []string{"module", "per-call", "local"} {
			t.Run(name, func(t *testing.T) {
				r := newRig(t)
				b := ocamlci.NewBackend(r.p, r.design(t, name))
				res := b.Analyse(analysis(1))
				job := jobsLabelled(r.p, "ci-analyse")[0]

				at(r.p, 30*time.Second, func() { job.Cancel("Cancelled by user") })
				runIdle(t, r.p)

				got := requireResult(t, res)
				require.ErrorIs(t, got.Err, ocamlci.ErrCancelled)
				require.EqualError(t, got.Err, "Cancelled")
				assert.Contains(t, job.Log(), "2026-06-02 15:02.43: Cancelling: Cancelled by user")
				// The analysis logs no outcome of its own; a copied
				// worker line has no timestamp and does not count.
				for _, line := range job.Log() {
					assert.NotContains(t, line, ": Job succeeded")
					assert.NotContains(t, line, ": Job failed")
				}
				assert.Equal(t, model.Closed, job.State())
			})
		}
	})

	t.Run("CI2_solves_lint_then_fmt_then_main", func(t *testing.T) {
		tests := []struct {
			n    int
			want []string
		}{
			{1, []string{"main"}},
			{2, []string{"lint", "main"}},
			{3, []string{"lint", "fmt", "main"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
				var kinds []string
				for _, req := range analysis(tt.n).Solves {
					kinds = append(kinds, req.Kind)
					assert.Equal(t, 3, req.Platforms, "%s solve covers every platform", req.Kind)
				}
				assert.Equal(t, tt.want, kinds)
			})
		}
	})

	t.Run("CI2_solves_run_one_after_another", func(t *testing.T) {
		r := newRig(t)
		d := &scripted{s: r.p.Sim}
		res := ocamlci.NewBackend(r.p, d).Analyse(analysis(3))
		runIdle(t, r.p)

		assert.Equal(t, []string{"lint/3@0s", "fmt/3@1m0s", "main/3@2m0s"}, d.starts)
		assert.Equal(t, model.Ok("main solved"), requireResult(t, res))
	})

	t.Run("CI2_lint_failure_is_ignored_others_fail", func(t *testing.T) {
		tests := []struct {
			failing string
			starts  []string
			wantErr string
		}{
			{"lint", []string{"lint/3@0s", "fmt/3@1m0s", "main/3@2m0s"}, ""},
			{"fmt", []string{"lint/3@0s", "fmt/3@1m0s"}, "fmt broke"},
			{"main", []string{"lint/3@0s", "fmt/3@1m0s", "main/3@2m0s"}, "main broke"},
		}
		for _, tt := range tests {
			t.Run(tt.failing, func(t *testing.T) {
				r := newRig(t)
				errs := map[string]error{tt.failing: errors.New(tt.failing + " broke")}
				d := &scripted{s: r.p.Sim, errs: errs}
				res := ocamlci.NewBackend(r.p, d).Analyse(analysis(3))
				runIdle(t, r.p)

				got := requireResult(t, res)
				assert.Equal(t, tt.starts, d.starts)
				if tt.wantErr == "" {
					assert.Equal(t, model.Ok("main solved"), got)
				} else {
					assert.EqualError(t, got.Err, tt.wantErr)
				}
			})
		}
	})

	t.Run("CI2_one_remote_job_per_solve", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "module"))
		res := b.Analyse(analysis(3))
		job := jobsLabelled(r.p, "ci-analyse")[0]
		runIdle(t, r.p)

		requireResult(t, res)
		var built, solved []string
		for _, line := range job.Log() {
			switch {
			case line == "Building on solver-1":
				built = append(built, line)
			case strings.HasPrefix(line, "Solving "):
				solved = append(solved, line)
			}
		}
		assert.Len(t, built, 3, "remote jobs")
		assert.Equal(t, []string{
			"Solving lint for 3 platforms",
			"Solving fmt for 3 platforms",
			"Solving main for 3 platforms",
		}, solved)
		assert.Len(t, jobsLabelled(r.p, "solver-job"), 3)
	})

	t.Run("CI3_with_ref_releases_the_handle", func(t *testing.T) {
		tests := []struct {
			name    string
			f       func(s *sim.Sim) *sim.Promise[string]
			wantErr string
		}{
			{"on_success", func(s *sim.Sim) *sim.Promise[string] {
				return sim.Map(s.Sleep(time.Second), func(sim.Unit) string { return "solved" })
			}, ""},
			{"on_failure", func(s *sim.Sim) *sim.Promise[string] {
				return sim.Bind(s.Sleep(time.Second), func(sim.Unit) *sim.Promise[string] {
					return sim.Fail[string](errors.New("no solution"))
				})
			}, "no solution"},
			{"on_synchronous_raise", func(*sim.Sim) *sim.Promise[string] {
				return sim.Fail[string](errors.New("bad request"))
			}, "bad request"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t)
				sw := r.p.NewSwitch("analyse")
				outer, err := r.p.NewJob(sw, "ci-analyse", &model.Config{}, model.Low)
				require.NoError(t, err)
				action := model.Action{Kind: "solve", Duration: time.Hour}
				cluster := r.conn.Pool(outer, "solver", action)
				got, _ := cluster.Get(model.Low, r.p.NewSwitch("caller"))
				r.p.Sim.Run(sim.Budget{Until: time.Second})
				h := requireResult(t, got)
				require.Equal(t, 1, r.p.Snapshot().Handles)

				var heldWhileRunning []int
				res := model.WithRef(h, func(h *model.Handle) *sim.Promise[string] {
					heldWhileRunning = append(heldWhileRunning, r.p.Snapshot().Handles)
					return tt.f(r.p.Sim)
				})
				runIdle(t, r.p)

				assert.Equal(t, []int{1}, heldWhileRunning)
				assert.Zero(t, r.p.Snapshot().Handles, "handles after with_ref")
				v, err := res.Result()
				if tt.wantErr == "" {
					require.NoError(t, err)
					assert.Equal(t, "solved", v)
				} else {
					require.EqualError(t, err, tt.wantErr)
				}
			})
		}
	})

	t.Run("CI3_remote_solve_releases_on_success_and_failure", func(t *testing.T) {
		for _, name := range []string{"module", "per-call"} {
			for _, cancel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/outer_cancelled=%t", name, cancel), func(t *testing.T) {
					r := newRig(t)
					res := ocamlci.NewBackend(r.p, r.design(t, name)).Analyse(analysis(1))
					job := jobsLabelled(r.p, "ci-analyse")[0]
					var midway int
					at(r.p, 30*time.Second, func() {
						midway = r.p.Snapshot().Handles
						if cancel {
							job.Cancel("Cancelled by user")
						}
					})
					runIdle(t, r.p)

					requireResult(t, res)
					assert.Equal(t, 1, midway, "handles during the solve")
					assert.Zero(t, r.p.Snapshot().Handles, "handles after the analysis")
				})
			}
		}
	})

	t.Run("CI4_module_design_leaks_running_solver_jobs", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "module"))
		first := b.Analyse(analysis(1))
		var second *sim.Promise[model.Result[string]]
		at(r.p, 10*time.Minute, func() {
			second = b.Analyse(ocamlci.Analysis{Repo: "ocurrent/ocluster", Commit: "0fe2cb1",
				Solves: ocamlci.Solves(1, []time.Duration{time.Minute}, 3)})
		})
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("solve main done by solver-1"), requireResult(t, first))
		assert.Equal(t, model.Ok("solve main done by solver-1"), requireResult(t, second))
		snap := r.p.Snapshot()
		require.Len(t, snap.Jobs, 2, "jobs left on /jobs")
		wantLogs := [][]string{dummyLog("2026-06-02 15:02.13"), dummyLog("2026-06-02 15:12.13")}
		var logs [][]string
		var hooks []string
		for _, v := range snap.Jobs {
			assert.Equal(t, "solver-job", v.Label)
			assert.Equal(t, model.Running, v.State)
			assert.True(t, v.LogOpen)
			assert.Empty(t, v.Cancelled)
			logs = append(logs, v.Log)
			hooks = append(hooks, "job "+v.ID)
		}
		assert.ElementsMatch(t, wantLogs, logs)
		require.Len(t, snap.Switches, 1, "one switch holds every solver-job")
		want := model.SwitchView{Label: "solver-remote", State: model.On, Hooks: hooks, Peak: 2}
		assert.Equal(t, want, snap.Switches[0])
		for _, j := range r.p.OpenJobs() {
			assert.Equal(t, model.Low, j.Priority())
		}
		assert.Equal(t, 4, snap.Created)
		assert.Equal(t, 2, snap.Closed, "the analyses closed")
		assert.Equal(t, 2, snap.Gauge)
		assert.Zero(t, snap.Handles)
	})

	t.Run("CI4_module_design_analysis_log", func(t *testing.T) {
		r := newRig(t)
		res := ocamlci.NewBackend(r.p, r.design(t, "module")).Analyse(analysis(1))
		job := jobsLabelled(r.p, "ci-analyse")[0]
		runIdle(t, r.p)

		requireResult(t, res)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Solving with opam-repository commit: 0fe2cb1",
			"2026-06-02 15:02.13: Waiting for worker…",
			"Building on solver-1",
			"Solving main for 3 platforms",
			"Job succeeded",
			"2026-06-02 15:03.13: Job succeeded",
		}, job.Log())
	})

	t.Run("CI5_per_call_design_closes_each_solver_job", func(t *testing.T) {
		r := newRig(t)
		res := ocamlci.NewBackend(r.p, r.design(t, "per-call")).Analyse(analysis(2))
		var dummies []*model.Job
		for _, d := range []time.Duration{30 * time.Second, 90 * time.Second} {
			at(r.p, d, func() { dummies = append(dummies, jobsLabelled(r.p, "solver-job")...) })
		}
		runIdle(t, r.p)

		requireResult(t, res)
		require.Len(t, dummies, 2, "one solver-job during each solve")
		assert.NotSame(t, dummies[0].Switch(), dummies[1].Switch(), "a switch per solve")
		stamps := []string{"2026-06-02 15:02.13", "2026-06-02 15:03.13"}
		for i, j := range dummies {
			assert.Equal(t, dummyLog(stamps[i]), j.Log(), "solver-job %d log", i)
			assert.Equal(t, model.Closed, j.State())
			assert.False(t, j.LogOpen())
			reason, _ := j.Cancelled()
			assert.Equal(t, "Job complete", reason)
			assert.Equal(t, "solver-remote", j.Switch().Label())
			assert.Equal(t, model.Off, j.Switch().State())
		}
		snap := r.p.Snapshot()
		assert.Empty(t, snap.Jobs)
		assert.Equal(t, 3, snap.Created)
		assert.Equal(t, 3, snap.Closed)
		assert.Zero(t, snap.Gauge)
		assert.Zero(t, snap.Handles)
		assert.Empty(t, snap.ProcessLog)
	})

	t.Run("CI5_per_call_design_closes_solver_job_on_failure", func(t *testing.T) {
		r := newRig(t)
		res := ocamlci.NewBackend(r.p, r.design(t, "per-call")).Analyse(analysis(1))
		job := jobsLabelled(r.p, "ci-analyse")[0]
		at(r.p, 30*time.Second, func() { job.Cancel("Cancelled by user") })
		runIdle(t, r.p)

		got := requireResult(t, res)
		require.Error(t, got.Err)
		snap := r.p.Snapshot()
		assert.Empty(t, snap.Jobs)
		assert.Equal(t, 2, snap.Created)
		assert.Zero(t, snap.Gauge)
	})

	t.Run("CI6_local_design_creates_no_solver_job", func(t *testing.T) {
		r := newRig(t)
		res := ocamlci.NewBackend(r.p, r.design(t, "local")).Analyse(analysis(3))
		var midway [][]string
		for _, d := range []time.Duration{30 * time.Second, 90 * time.Second, 150 * time.Second} {
			at(r.p, d, func() {
				var labels []string
				for _, j := range r.p.OpenJobs() {
					labels = append(labels, j.Label())
				}
				midway = append(midway, labels)
			})
		}
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("main done locally"), requireResult(t, res))
		assert.Equal(t, [][]string{{"ci-analyse"}, {"ci-analyse"}, {"ci-analyse"}}, midway)
		snap := r.p.Snapshot()
		assert.Equal(t, 1, snap.Created)
		assert.Empty(t, snap.Jobs)
		assert.Zero(t, snap.Handles)
	})
}
