package ocamlci_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/sim"
)

// timed is a Design whose solves take their request's duration and then
// fail with errs[duration], if set, or succeed with their kind and
// duration. It tells apart solves of one kind, such as lock-file solves.
type timed struct {
	s    *sim.Sim
	errs map[time.Duration]error
}

func (d *timed) Name() string { return "timed" }

func (d *timed) Solve(_ *model.Job, req ocamlci.SolveRequest) *sim.Promise[string] {
	return sim.Bind(d.s.Sleep(req.Duration), func(sim.Unit) *sim.Promise[string] {
		if err := d.errs[req.Duration]; err != nil {
			return sim.Fail[string](err)
		}
		return sim.Return(fmt.Sprintf("%s %v solved", req.Kind, req.Duration))
	})
}

// lockAnalysis is an analysis with a lint solve of a minute and one
// lock-file solve per duration.
func lockAnalysis(durations ...time.Duration) ocamlci.Analysis {
	a := analysis(2)
	a.Solves = ocamlci.WithLockFiles(a.Solves, durations)
	return a
}

// resolvedAt returns a pointer that holds the elapsed virtual time at
// which pr resolves, or -1 while it has not.
func resolvedAt[T any](s *sim.Sim, pr *sim.Promise[T]) *time.Duration {
	at := time.Duration(-1)
	sim.On(pr, func(T, error) { at = s.Elapsed() })
	return &at
}

func TestCI_Analysis(t *testing.T) {
	t.Run("CI1_start_returns_the_run_and_its_job", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "local"))
		a := analysis(1)

		run := b.Start(a)

		assert.Equal(t, a, run.Analysis)
		require.NotNil(t, run.Job)
		assert.Equal(t, jobsLabelled(r.p, "ci-analyse"), []*model.Job{run.Job})
		runIdle(t, r.p)
		assert.Equal(t, model.Ok("main done locally"), requireResult(t, run.Result))
	})

	t.Run("CI1_run_cancel_is_a_job_cancel", func(t *testing.T) {
		for _, reason := range []string{ocamlci.ReasonUser, ocamlci.ReasonAutoCancel} {
			for _, name := range []string{"module", "per-call", "local", "scripted"} {
				t.Run(reason+"/"+name, func(t *testing.T) {
					r := newRig(t)
					var d ocamlci.Design = &scripted{s: r.p.Sim}
					if name != "scripted" {
						d = r.design(t, name)
					}
					b := ocamlci.NewBackend(r.p, d)
					run := b.Start(analysis(1))

					at(r.p, 30*time.Second, func() { run.Cancel(reason) })
					runIdle(t, r.p)

					// Not a promise cancel: the result is recorded, as
					// Error "Cancelled", whatever the solve did.
					got := requireResult(t, run.Result)
					require.ErrorIs(t, got.Err, ocamlci.ErrCancelled)
					assert.EqualError(t, got.Err, "Cancelled")
					assert.Contains(t, run.Job.Log(), "2026-06-02 15:02.43: Cancelling: "+reason)
					gotReason, _ := run.Job.Cancelled()
					assert.Equal(t, reason, gotReason)
					assert.Equal(t, model.Closed, run.Job.State())
					assert.Zero(t, b.Pool.InUse(), "analyse slots in use")
				})
			}
		}
	})

	t.Run("CI1_cancel_while_waiting_for_the_analyse_pool", func(t *testing.T) {
		r := newRig(t)
		d := &scripted{s: r.p.Sim}
		b := ocamlci.NewBackend(r.p, d)
		b.Pool = r.p.NewLocalPool("analyse", 1)
		first := b.Start(analysis(1))
		second := b.Start(analysis(1))

		at(r.p, 30*time.Second, func() { second.Cancel(ocamlci.ReasonAutoCancel) })
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("main solved"), requireResult(t, first.Result))
		got := requireResult(t, second.Result)
		require.ErrorIs(t, got.Err, ocamlci.ErrCancelled)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool analyse",
			"2026-06-02 15:02.43: Cancelling: " + ocamlci.ReasonAutoCancel,
		}, second.Job.Log())
		assert.Equal(t, []string{"main/3@0s"}, d.starts, "the cancelled analysis never solved")
		assert.Zero(t, b.Pool.InUse())
	})

	// F11: the analysis cannot create its job.
	t.Run("CI1_job_creation_failure_rejects_the_result", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, &scripted{s: r.p.Sim})
		r.p.FDs.Limit = r.p.FDs.InUse()

		run := b.Start(analysis(1))
		run.Cancel(ocamlci.ReasonUser) // no job: nothing to cancel
		runIdle(t, r.p)

		assert.Nil(t, run.Job)
		require.Equal(t, sim.Rejected, run.Result.State())
		_, err := run.Result.Result()
		assert.ErrorIs(t, err, model.ErrTooManyOpenFiles)
		snap := r.p.Snapshot()
		assert.Zero(t, snap.Created)
		assert.Zero(t, snap.Gauge)

		// The analysis's switch was dropped while still On: the
		// collector turns it off, with a warning (SW7).
		assert.Equal(t, 1, r.p.Collect())
		assert.Equal(t, []string{"2026-06-02 15:02.13: Switch analyse ocurrent/ocaml-ci " +
			"garbage collected while still on; turning it off"}, r.p.ProcessLog())
	})

	t.Run("CI2_with_lock_files_replaces_the_main_solve", func(t *testing.T) {
		solves := analysis(3).Solves
		before := append([]ocamlci.SolveRequest(nil), solves...)

		got := ocamlci.WithLockFiles(solves, []time.Duration{30 * time.Second, 45 * time.Second})

		assert.Equal(t, []ocamlci.SolveRequest{
			{Kind: ocamlci.KindLint, Duration: time.Minute, Platforms: 3},
			{Kind: ocamlci.KindFmt, Duration: time.Minute, Platforms: 3},
			{Kind: ocamlci.KindLock, Duration: 30 * time.Second, Platforms: 3},
			{Kind: ocamlci.KindLock, Duration: 45 * time.Second, Platforms: 3},
		}, got)
		assert.Equal(t, before, solves, "the solves given are not changed")
	})

	t.Run("CI2_lock_file_solves_run_concurrently", func(t *testing.T) {
		r := newRig(t)
		d := &scripted{s: r.p.Sim}
		res := ocamlci.NewBackend(r.p, d).Analyse(lockAnalysis(time.Minute, time.Minute))
		done := resolvedAt(r.p.Sim, res)
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("lock solved"), requireResult(t, res))
		assert.Equal(t, []string{"lint/3@0s", "lock/3@1m0s", "lock/3@1m0s"}, d.starts)
		assert.Equal(t, 2*time.Minute, *done, "analysis done at (lint, then both locks at once)")
	})

	t.Run("CI2_lock_file_solves_run_concurrently_on_the_cluster", func(t *testing.T) {
		r := newRig(t)
		a := analysis(1)
		a.Solves = ocamlci.WithLockFiles(a.Solves, []time.Duration{time.Minute, time.Minute})
		res := ocamlci.NewBackend(r.p, r.design(t, "per-call")).Analyse(a)
		done := resolvedAt(r.p.Sim, res)
		runIdle(t, r.p)

		requireResult(t, res)
		assert.GreaterOrEqual(t, *done, time.Minute)
		assert.Less(t, *done, 90*time.Second,
			"done at: one after the other, two one-minute solves take two")
	})

	t.Run("CI2_lock_file_analysis_ignores_lint_failure", func(t *testing.T) {
		r := newRig(t)
		d := &scripted{s: r.p.Sim, errs: map[string]error{"lint": errors.New("lint broke")}}
		res := ocamlci.NewBackend(r.p, d).Analyse(lockAnalysis(time.Minute, time.Minute))
		runIdle(t, r.p)

		assert.Equal(t, model.Ok("lock solved"), requireResult(t, res))
		assert.Equal(t, []string{"lint/3@0s", "lock/3@1m0s", "lock/3@1m0s"}, d.starts)
	})

	t.Run("CI2_lock_file_failure_fails_the_analysis_once_all_end", func(t *testing.T) {
		tests := []struct {
			name    string
			locks   []time.Duration
			errs    map[time.Duration]error
			want    model.Result[string]
			doneAt  time.Duration
			wantErr string
		}{
			{"none_fails", []time.Duration{30 * time.Second, 90 * time.Second}, nil,
				model.Ok("lock 1m30s solved"), 150 * time.Second, ""},
			{"the_second_fails", []time.Duration{30 * time.Second, 90 * time.Second},
				map[time.Duration]error{90 * time.Second: errors.New("second broke")},
				model.Result[string]{}, 150 * time.Second, "second broke"},
			{"both_fail_first_in_order_wins", []time.Duration{90 * time.Second, 30 * time.Second},
				map[time.Duration]error{
					90 * time.Second: errors.New("first broke"),
					30 * time.Second: errors.New("second broke"),
				},
				model.Result[string]{}, 150 * time.Second, "first broke"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t)
				d := &timed{s: r.p.Sim, errs: tt.errs}
				res := ocamlci.NewBackend(r.p, d).Analyse(lockAnalysis(tt.locks...))
				done := resolvedAt(r.p.Sim, res)
				runIdle(t, r.p)

				got := requireResult(t, res)
				if tt.wantErr == "" {
					assert.Equal(t, tt.want, got)
				} else {
					assert.EqualError(t, got.Err, tt.wantErr)
				}
				assert.Equal(t, tt.doneAt, *done, "analysis done at")
			})
		}
	})

	t.Run("SW7_collection_does_not_rescue_module_level_leak", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "module"))
		b.Analyse(analysis(2))
		runIdle(t, r.p)
		require.Len(t, jobsLabelled(r.p, "solver-job"), 2, "solver-jobs leaked")

		assert.Zero(t, r.p.Collect(), "switches collected")
		runIdle(t, r.p)

		dummies := jobsLabelled(r.p, "solver-job")
		require.Len(t, dummies, 2, "solver-jobs left after collection")
		for _, j := range dummies {
			assert.Equal(t, model.Running, j.State())
			assert.Equal(t, model.On, j.Switch().State())
		}
		assert.Equal(t, 2, r.p.Gauge())
		assert.Empty(t, r.p.ProcessLog())
	})

	t.Run("SW7_per_call_switches_are_dropped_already_off", func(t *testing.T) {
		r := newRig(t)
		b := ocamlci.NewBackend(r.p, r.design(t, "per-call"))
		b.Analyse(analysis(3))
		runIdle(t, r.p)

		assert.Zero(t, r.p.Collect(), "switches collected")
		assert.Empty(t, r.p.ProcessLog(), "no collection warning")
		assert.Empty(t, r.p.OpenJobs())
		assert.Empty(t, r.p.Snapshot().Switches, "switches with hooks left")
	})

	// F15: a client that streams a leaked solver-job's log never sees it
	// end (inferred); with the per-call switch, the close ends it.
	t.Run("JB6_viewer_of_solver_job", func(t *testing.T) {
		tests := []struct {
			design   string
			open     bool
			wantSock int
		}{
			{"module", true, 1},
			{"per-call", false, 0},
		}
		for _, tt := range tests {
			t.Run(tt.design, func(t *testing.T) {
				r := newRig(t)
				ocamlci.NewBackend(r.p, r.design(t, tt.design)).Analyse(analysis(1))
				var v *model.Viewer
				at(r.p, 30*time.Second, func() {
					dummies := jobsLabelled(r.p, "solver-job")
					require.Len(t, dummies, 1)
					var err error
					v, err = r.p.Watch(dummies[0])
					require.NoError(t, err)
				})
				r.p.Sim.Run(sim.Budget{Until: 30 * 24 * time.Hour})

				require.NotNil(t, v)
				assert.Equal(t, tt.open, v.Open(), "stream open after 30 days")
				assert.Equal(t, 2, v.Lines(), "lines sent")
				assert.Equal(t, tt.wantSock, r.p.FDs.OpenOf(model.FDSocket), "sockets open")
				assert.Equal(t, tt.wantSock, r.p.Snapshot().Viewers)
			})
		}
	})

	// F11: the solver-job cannot be created; the analysis fails and no
	// solver-job is registered, in both designs.
	t.Run("JB2_solver_job_creation_failure_fails_the_analysis", func(t *testing.T) {
		for _, name := range []string{"module", "per-call"} {
			t.Run(name, func(t *testing.T) {
				r := newRig(t)
				r.p.Inject = func(s model.Site, label string) error {
					if s == model.SiteJobCreate && label == "solver-job" {
						return model.ErrTooManyOpenFiles
					}
					return nil
				}
				res := ocamlci.NewBackend(r.p, r.design(t, name)).Analyse(analysis(1))
				runIdle(t, r.p)

				got := requireResult(t, res)
				assert.ErrorIs(t, got.Err, model.ErrTooManyOpenFiles)
				snap := r.p.Snapshot()
				assert.Equal(t, 1, snap.Created, "only the analysis job")
				assert.Empty(t, snap.Jobs)
				assert.Zero(t, snap.Gauge)
			})
		}
	})
}
