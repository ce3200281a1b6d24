package model

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// The helpers below are shared by the model's tests.

// newTestProcess returns a process on a simulator seeded with 1, whose
// virtual time starts at sim.DefaultEpoch, 2026-06-02 15:02:13 UTC.
func newTestProcess(tb testing.TB) *Process {
	tb.Helper()
	return NewProcess(sim.New(sim.Config{Seed: 1}))
}

// runIdle runs p until no event is left. A run that is not idle after a
// million events fails tb: some loop never ends.
func runIdle(tb testing.TB, p *Process) {
	tb.Helper()
	out := p.Sim.Run(sim.Budget{MaxEvents: 1_000_000})
	require.Equal(tb, sim.Idle, out.Reason, "Run() = %v (%v), want idle", out.Reason, out.Err)
}

// runUntil runs p up to elapsed virtual time d, which a loop that never
// ends (a retry, a wedged switch) needs.
func runUntil(tb testing.TB, p *Process, d time.Duration) sim.Outcome {
	tb.Helper()
	out := p.Sim.Run(sim.Budget{Until: d, MaxEvents: 1_000_000})
	require.NotEqual(tb, sim.EventBudget, out.Reason, "Run(until %v): %v", d, out.Err)
	require.NotEqual(tb, sim.Fatal, out.Reason, "Run(until %v): %v", d, out.Err)
	return out
}

// requirePending fails tb unless pr is pending.
func requirePending[T any](tb testing.TB, pr *sim.Promise[T]) {
	tb.Helper()
	v, err := pr.Result()
	require.Equal(tb, sim.Pending, pr.State(), "promise %v (%v, %v), want pending",
		pr.State(), v, err)
}

// requireFulfilled returns pr's value, failing tb unless pr is fulfilled.
func requireFulfilled[T any](tb testing.TB, pr *sim.Promise[T]) T {
	tb.Helper()
	v, err := pr.Result()
	require.Equal(tb, sim.Fulfilled, pr.State(), "promise %v (%v), want fulfilled",
		pr.State(), err)
	return v
}

// requireRejected fails tb unless pr is rejected with an error reading
// want.
func requireRejected[T any](tb testing.TB, pr *sim.Promise[T], want string) {
	tb.Helper()
	require.Equal(tb, sim.Rejected, pr.State(), "promise %v, want rejected with %q",
		pr.State(), want)
	_, err := pr.Result()
	require.EqualError(tb, err, want)
}

// resolvedAt returns a pointer that holds the elapsed virtual time at
// which pr resolves, or -1 while it has not.
func resolvedAt[T any](s *sim.Sim, pr *sim.Promise[T]) *time.Duration {
	at := time.Duration(-1)
	sim.On(pr, func(T, error) { at = s.Elapsed() })
	return &at
}

// hookTrace records which hooks run, and when.
type hookTrace struct {
	s    *sim.Sim
	runs []string
}

// hook returns a hook that records "name@elapsed" and returns result().
func (tr *hookTrace) hook(name string, result func() *sim.Promise[sim.Unit]) Hook {
	return func() *sim.Promise[sim.Unit] {
		tr.runs = append(tr.runs, fmt.Sprintf("%s@%v", name, tr.s.Elapsed()))
		return result()
	}
}

// push adds to sw, with add_hook_or_fail, a hook named name that records
// itself and returns result().
func (tr *hookTrace) push(tb testing.TB, sw *Switch, name string,
	result func() *sim.Promise[sim.Unit]) {
	tb.Helper()
	require.NoError(tb, sw.AddHookOrFail(name, tr.hook(name, result)), "AddHookOrFail(%s)", name)
}

// sleepFor returns a hook result that is fulfilled d from when it runs.
func sleepFor(s *sim.Sim, d time.Duration) func() *sim.Promise[sim.Unit] {
	return func() *sim.Promise[sim.Unit] { return s.Sleep(d) }
}

// switchIn returns a switch labelled label in state st. A TurningOff switch
// is held there by a hook that waits on the returned resolver; for the
// other states the resolver is unused.
func switchIn(tb testing.TB, p *Process, label string, st SwitchState) (
	*Switch, sim.Resolver[sim.Unit]) {
	tb.Helper()
	blocker, unblock := sim.Wait[sim.Unit]()
	switch st {
	case Off:
		return p.NewSwitchOff(label), unblock
	case TurningOff:
		sw := p.NewSwitch(label)
		hold := func() *sim.Promise[sim.Unit] { return blocker }
		require.NoError(tb, sw.AddHookOrFail("blocker", hold))
		sw.TurnOff()
		require.Equal(tb, TurningOff, sw.State())
		return sw, unblock
	}
	return p.NewSwitch(label), unblock
}

func TestSW_Switch(t *testing.T) {
	t.Run("SW1_on_then_turning_off_then_off", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		require.Equal(t, "analyse", sw.Label())

		seen := []SwitchState{sw.State()}
		require.NoError(t, sw.AddHookOrFail("probe", func() *sim.Promise[sim.Unit] {
			seen = append(seen, sw.State())
			return sim.Done()
		}))
		done := sw.TurnOff()
		seen = append(seen, sw.State())

		assert.Equal(t, []SwitchState{On, TurningOff, Off}, seen)
		requireFulfilled(t, done)
		assert.False(t, sw.IsOn())
	})

	t.Run("SW1_create_off_is_off", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitchOff("spare")
		assert.Equal(t, Off, sw.State())
		assert.False(t, sw.IsOn())
		requireFulfilled(t, sw.TurnOff())
		assert.Equal(t, Off, sw.State())
	})

	t.Run("SW2_hook_takes_nothing_and_its_promise_is_awaited", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "slow", sleepFor(p.Sim, 5*time.Second))

		done := sw.TurnOff()
		at := resolvedAt(p.Sim, done)
		requirePending(t, done)
		assert.Equal(t, TurningOff, sw.State())

		runIdle(t, p)
		requireFulfilled(t, done)
		assert.Equal(t, 5*time.Second, *at, "turn-off resolved at")
		assert.Equal(t, Off, sw.State())
		assert.Equal(t, []string{"slow@0s"}, tr.runs)
	})

	t.Run("SW3_hooks_run_newest_first_each_awaited", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}
		for i, name := range []string{"oldest", "middle", "newest"} {
			tr.push(t, sw, name, sleepFor(p.Sim, time.Duration(i+1)*time.Second))
		}
		require.Equal(t, []string{"oldest", "middle", "newest"}, sw.Hooks())

		done := sw.TurnOff()
		at := resolvedAt(p.Sim, done)
		runIdle(t, p)

		// newest sleeps 3 s, middle 2 s, oldest 1 s: each starts when the
		// one before it is fulfilled.
		assert.Equal(t, []string{"newest@0s", "middle@3s", "oldest@5s"}, tr.runs)
		requireFulfilled(t, done)
		assert.Equal(t, 6*time.Second, *at, "turn-off resolved at")
		assert.Equal(t, Off, sw.State())
		assert.Empty(t, sw.Hooks())
	})

	t.Run("SW3_turn_off_while_turning_off_waits_for_off", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "slow", sleepFor(p.Sim, 2*time.Second))

		first := sw.TurnOff()
		firstAt := resolvedAt(p.Sim, first)
		var second *sim.Promise[sim.Unit]
		var secondAt *time.Duration
		p.Sim.At(time.Second, func() {
			second = sw.TurnOff()
			secondAt = resolvedAt(p.Sim, second)
			requirePending(t, second)
		})
		runIdle(t, p)

		requireFulfilled(t, first)
		requireFulfilled(t, second)
		assert.Equal(t, 2*time.Second, *firstAt, "first turn-off resolved at")
		assert.Equal(t, 2*time.Second, *secondAt, "second turn-off resolved at")
		assert.Equal(t, []string{"slow@0s"}, tr.runs, "hooks run")
	})

	t.Run("SW3_turn_off_when_off_does_nothing", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "once", sim.Done)
		requireFulfilled(t, sw.TurnOff())

		again := sw.TurnOff()
		requireFulfilled(t, again)
		assert.Equal(t, Off, sw.State())
		assert.Equal(t, []string{"once@0s"}, tr.runs, "hooks run")
		assert.Zero(t, p.Sim.Pending(), "events scheduled")
	})

	t.Run("SW4_failing_hook_wedges_switch", func(t *testing.T) {
		tests := []struct {
			name string
			fail func(s *sim.Sim) *sim.Promise[sim.Unit]
		}{
			{"raises_at_once", func(*sim.Sim) *sim.Promise[sim.Unit] {
				return sim.Fail[sim.Unit](errors.New("hook failed"))
			}},
			{"rejects_later", func(s *sim.Sim) *sim.Promise[sim.Unit] {
				return sim.Bind(s.Sleep(time.Second), func(sim.Unit) *sim.Promise[sim.Unit] {
					return sim.Fail[sim.Unit](errors.New("hook failed"))
				})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := newTestProcess(t)
				sw := p.NewSwitch("analyse")
				tr := &hookTrace{s: p.Sim}
				tr.push(t, sw, "first", sim.Done)
				tr.push(t, sw, "failing", func() *sim.Promise[sim.Unit] { return tt.fail(p.Sim) })
				tr.push(t, sw, "last", sim.Done)

				done := sw.TurnOff()
				runIdle(t, p)
				requireRejected(t, done, "hook failed")
				assert.Equal(t, []string{"last@0s", "failing@0s"}, tr.runs, "hooks run")
				assert.Equal(t, TurningOff, sw.State())

				// Later calls wait for an Off that never comes.
				later := sw.TurnOff()
				exec := sw.AddHookOrExec("late", tr.hook("late", sim.Done))
				err := sw.AddHookOrFail("late", tr.hook("late", sim.Done))
				runUntil(t, p, 24*time.Hour)

				requirePending(t, later)
				requirePending(t, exec)
				require.ErrorIs(t, err, ErrSwitchTurningOff)
				assert.Equal(t, TurningOff, sw.State())
				assert.Equal(t, []string{"last@0s", "failing@0s"}, tr.runs, "hooks run")
			})
		}
	})

	t.Run("SW5_add_hook_or_fail", func(t *testing.T) {
		tests := []struct {
			state   SwitchState
			wantErr string
		}{
			{On, ""},
			{Off, "Switch already off!"},
			{TurningOff, "Switch is being turned off!"},
		}
		for _, tt := range tests {
			t.Run(tt.state.String(), func(t *testing.T) {
				p := newTestProcess(t)
				sw, _ := switchIn(t, p, "analyse", tt.state)
				before := sw.Hooks()
				tr := &hookTrace{s: p.Sim}

				err := sw.AddHookOrFail("probe", tr.hook("probe", sim.Done))

				if tt.wantErr == "" {
					require.NoError(t, err)
					assert.Equal(t, append(before, "probe"), sw.Hooks())
				} else {
					require.EqualError(t, err, tt.wantErr)
					assert.Equal(t, before, sw.Hooks())
				}
				assert.Empty(t, tr.runs, "hooks run")
			})
		}
	})

	t.Run("SW6_add_hook_or_exec_on_pushes", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}

		requireFulfilled(t, sw.AddHookOrExec("probe", tr.hook("probe", sim.Done)))
		assert.Equal(t, []string{"probe"}, sw.Hooks())
		assert.Empty(t, tr.runs, "hooks run before turn-off")

		p.Sim.At(time.Second, func() { sw.TurnOff() })
		runIdle(t, p)
		assert.Equal(t, []string{"probe@1s"}, tr.runs)
	})

	t.Run("SW6_add_hook_or_exec_off_runs_now", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitchOff("analyse")
		tr := &hookTrace{s: p.Sim}

		got := sw.AddHookOrExec("probe", tr.hook("probe", sleepFor(p.Sim, time.Second)))
		at := resolvedAt(p.Sim, got)
		assert.Equal(t, []string{"probe@0s"}, tr.runs)
		assert.Empty(t, sw.Hooks())

		runIdle(t, p)
		requireFulfilled(t, got)
		assert.Equal(t, time.Second, *at, "add_hook_or_exec resolved at (the hook's own promise)")
	})

	t.Run("SW6_add_hook_or_exec_turning_off_runs_once_off", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("analyse")
		tr := &hookTrace{s: p.Sim}
		tr.push(t, sw, "slow", sleepFor(p.Sim, 2*time.Second))
		sw.TurnOff()

		got := sw.AddHookOrExec("probe", tr.hook("probe", sim.Done))
		requirePending(t, got)
		assert.Equal(t, []string{"slow@0s"}, tr.runs)

		runIdle(t, p)
		requireFulfilled(t, got)
		assert.Equal(t, []string{"slow@0s", "probe@2s"}, tr.runs)
		assert.Equal(t, Off, sw.State())
	})
}
