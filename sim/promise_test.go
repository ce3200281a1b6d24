package sim_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jobsim/jobsim/sim"
)

var (
	errBoom    = errors.New("boom")
	errCleanup = errors.New("cleanup failed")
	errOther   = errors.New("other")
)

// checkFulfilled fails t unless p is fulfilled with want.
func checkFulfilled[T comparable](t testing.TB, what string, p *sim.Promise[T], want T) {
	t.Helper()
	v, err := p.Result()
	if p.State() != sim.Fulfilled || v != want || err != nil {
		t.Errorf("%s = %v (%v, %v), want fulfilled (%v, <nil>)", what, p.State(), v, err, want)
	}
}

// checkRejected fails t unless p is rejected with an error that is want.
func checkRejected[T any](t testing.TB, what string, p *sim.Promise[T], want error) {
	t.Helper()
	if _, err := p.Result(); p.State() != sim.Rejected || !errors.Is(err, want) {
		t.Errorf("%s = %v (%v), want rejected (%v)", what, p.State(), err, want)
	}
}

// checkPending fails t unless p is pending.
func checkPending[T any](t testing.TB, what string, p *sim.Promise[T]) {
	t.Helper()
	if !p.IsPending() || p.State() != sim.Pending {
		_, err := p.Result()
		t.Errorf("%s = %v (%v), want pending", what, p.State(), err)
	}
}

// checkPanics fails t unless f panics.
func checkPanics(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if recover() == nil {
			t.Errorf("%s did not panic, want a panic", what)
		}
	}()
	f()
}

// sleepThen returns a promise that, d from now, is fulfilled with v, or
// rejected with err if err is not nil. It can be cancelled.
func sleepThen[T any](s *sim.Sim, d time.Duration, v T, err error) *sim.Promise[T] {
	return sim.Bind(s.Sleep(d), func(sim.Unit) *sim.Promise[T] {
		if err != nil {
			return sim.Fail[T](err)
		}
		return sim.Return(v)
	})
}

// now, as the delay of outcome, makes a promise that is already resolved.
const now time.Duration = -1

// outcome returns a maker of a promise that is fulfilled with v, or
// rejected with err if it is not nil, d from now.
func outcome(d time.Duration, v int, err error) func(*sim.Sim) *sim.Promise[int] {
	return func(s *sim.Sim) *sim.Promise[int] {
		switch {
		case d >= 0:
			return sleepThen(s, d, v, err)
		case err != nil:
			return sim.Fail[int](err)
		}
		return sim.Return(v)
	}
}

// TestLW_Lwt checks the rules LW1–LW6 of docs/RULES.md. Each case
// is named after the rule it checks; run one rule with, for example,
// go test ./sim -run 'TestLW_Lwt/LW4'.
func TestLW_Lwt(t *testing.T) {
	tests := []struct {
		name string
		test func(t *testing.T)
	}{
		{"LW1_callback_runs_to_completion", testLW1CallbackRunsToCompletion},
		{"LW1_resolve_runs_callbacks_before_returning", testLW1ResolveRunsCallbacks},
		{"LW2_bind_on_rejected_skips_callback", testLW2BindOnRejected},
		{"LW2_map_passes_rejection", testLW2MapPassesRejection},
		{"LW2_fail_in_callback_rejects", testLW2FailInCallback},
		{"LW3_finalize_cleanup_after_fulfil", testLW3CleanupAfterFulfil},
		{"LW3_finalize_cleanup_after_reject", testLW3CleanupAfterReject},
		{"LW3_finalize_cleanup_error_wins", testLW3CleanupErrorWins},
		{"LW3_finalize_cleanup_after_cancel", testLW3CleanupAfterCancel},
		{"LW4_cancel_forwarded_to_waited_promise", testLW4CancelForwarded},
		{"LW4_wait_cannot_be_cancelled", testLW4WaitCannotBeCancelled},
		{"LW4_choose_leaves_losers_running", testLW4ChooseLeavesLosers},
		{"LW4_pick_cancels_losers", testLW4PickCancelsLosers},
		{"LW4_pause_resolves_next_turn", testLW4PauseResolvesNextTurn},
		{"LW5_async_exception_hook_default_is_fatal", testLW5DefaultHook},
		{"LW5_async_exception_hook_custom_continues", testLW5CustomHook},
		{"LW6_unresolved_promise_waits_forever", testLW6WaitsForever},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.test)
	}
}

// testLW1CallbackRunsToCompletion checks that an event is never
// interleaved with another: what it starts through Pause runs only after
// the events already queued for the same instant.
func testLW1CallbackRunsToCompletion(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	r := &recorder{}
	counter := 0
	s.At(time.Second, func() {
		r.got = append(r.got, "a starts")
		seen := counter
		sim.Bind(s.Pause(), func(sim.Unit) *sim.Promise[sim.Unit] {
			r.got = append(r.got, "a continues")
			return sim.Done()
		})
		s.After(0, r.event("a schedules"))
		counter = seen + 1
		r.got = append(r.got, "a ends")
	})
	s.At(time.Second, func() {
		counter++
		r.got = append(r.got, "b")
	})

	s.Run(sim.Budget{})
	want := []string{"a starts", "a ends", "b", "a continues", "a schedules"}
	checkOrder(t, "Run", r.got, want)
	if counter != 2 {
		t.Errorf("counter = %d, want 2", counter)
	}
}

// testLW1ResolveRunsCallbacks checks that resolving a promise runs its
// callbacks, and theirs in turn, before the resolver returns.
func testLW1ResolveRunsCallbacks(t *testing.T) {
	r := &recorder{}
	p, res := sim.Wait[int]()
	q := sim.Map(p, func(v int) int {
		r.got = append(r.got, "map")
		return v * 2
	})
	sim.On(q, func(int, error) { r.got = append(r.got, "on") })

	r.got = append(r.got, "before")
	res.Resolve(21)
	r.got = append(r.got, "after")

	checkOrder(t, "Resolve", r.got, []string{"before", "map", "on", "after"})
	checkFulfilled(t, "Map(p, double)", q, 42)
}

func testLW2BindOnRejected(t *testing.T) {
	tests := []struct {
		name string
		make func(s *sim.Sim) *sim.Promise[int]
	}{
		{"already_rejected", outcome(now, 0, errBoom)},
		{"rejected_later", outcome(time.Second, 0, errBoom)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			ran := false
			p := sim.Bind(tt.make(s), func(int) *sim.Promise[string] {
				ran = true
				return sim.Return("ran")
			})
			s.Run(sim.Budget{})
			if ran {
				t.Errorf("Bind(rejected, f) ran f, want f skipped")
			}
			checkRejected(t, "Bind(rejected, f)", p, errBoom)
			if _, err := p.Result(); err != errBoom {
				t.Errorf("Bind(rejected, f) error = %v, want the same error %v", err, errBoom)
			}
		})
	}
}

func testLW2MapPassesRejection(t *testing.T) {
	tests := []struct {
		name string
		make func(s *sim.Sim) *sim.Promise[int]
	}{
		{"already_rejected", outcome(now, 0, errBoom)},
		{"rejected_later", outcome(time.Second, 0, errBoom)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			ran := false
			p := sim.Map(tt.make(s), func(v int) int {
				ran = true
				return v + 1
			})
			ignored := sim.Ignore(p)
			s.Run(sim.Budget{})
			if ran {
				t.Errorf("Map(rejected, f) ran f, want f skipped")
			}
			checkRejected(t, "Map(rejected, f)", p, errBoom)
			checkRejected(t, "Ignore(Map(rejected, f))", ignored, errBoom)
		})
	}
}

// testLW2FailInCallback checks that a callback raises by returning Fail,
// and that the rejection skips every later Bind.
func testLW2FailInCallback(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	var steps []string
	p := sim.Bind(s.Sleep(time.Second), func(sim.Unit) *sim.Promise[int] {
		steps = append(steps, "first")
		return sim.Fail[int](errBoom)
	})
	p = sim.Bind(p, func(v int) *sim.Promise[int] {
		steps = append(steps, "second")
		return sim.Return(v)
	})
	s.Run(sim.Budget{})

	checkOrder(t, "Bind chain", steps, []string{"first"})
	checkRejected(t, "Bind chain", p, errBoom)
}

// finalizeCase runs sim.Finalize over body, with a cleanup that takes
// cleanupTime and then fails with cleanupErr if it is not nil. It returns
// the result and a log of when body and cleanup ended.
func finalizeCase(t testing.TB, s *sim.Sim, body *sim.Promise[int],
	cleanupTime time.Duration, cleanupErr error) (*sim.Promise[int], *[]string) {
	t.Helper()
	log := &[]string{}
	p := sim.Finalize(func() *sim.Promise[int] {
		sim.On(body, func(int, error) {
			*log = append(*log, fmt.Sprintf("body resolved at %v", s.Elapsed()))
		})
		return body
	}, func() *sim.Promise[sim.Unit] {
		*log = append(*log, fmt.Sprintf("cleanup starts at %v", s.Elapsed()))
		return sleepThen(s, cleanupTime, sim.Unit{}, cleanupErr)
	})
	sim.On(p, func(int, error) {
		*log = append(*log, fmt.Sprintf("result at %v", s.Elapsed()))
	})
	return p, log
}

func testLW3CleanupAfterFulfil(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p, log := finalizeCase(t, s, sleepThen(s, time.Second, 7, nil), time.Second, nil)
	s.Run(sim.Budget{})

	checkOrder(t, "Finalize", *log,
		[]string{"body resolved at 1s", "cleanup starts at 1s", "result at 2s"})
	checkFulfilled(t, "Finalize(fulfilled 7, ok)", p, 7)
}

func testLW3CleanupAfterReject(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p, log := finalizeCase(t, s, sleepThen(s, time.Second, 0, errBoom), time.Second, nil)
	s.Run(sim.Budget{})

	checkOrder(t, "Finalize", *log,
		[]string{"body resolved at 1s", "cleanup starts at 1s", "result at 2s"})
	checkRejected(t, "Finalize(rejected boom, ok)", p, errBoom)
}

func testLW3CleanupErrorWins(t *testing.T) {
	tests := []struct {
		name string
		err  error // body's error, nil to fulfil
	}{
		{"over_fulfilled_body", nil},
		{"over_rejected_body", errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			p, _ := finalizeCase(t, s, sleepThen(s, time.Second, 7, tt.err), 0, errCleanup)
			s.Run(sim.Budget{})
			checkRejected(t, "Finalize(body, failing cleanup)", p, errCleanup)
		})
	}
}

func testLW3CleanupAfterCancel(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p, log := finalizeCase(t, s, sleepThen(s, time.Hour, 7, nil), time.Second, nil)
	s.At(time.Minute, p.Cancel)
	s.Run(sim.Budget{})

	checkOrder(t, "Finalize", *log,
		[]string{"body resolved at 1m0s", "cleanup starts at 1m0s", "result at 1m1s"})
	checkRejected(t, "Finalize(cancelled body, ok)", p, sim.ErrCanceled)
}

func testLW4CancelForwarded(t *testing.T) {
	tests := []struct {
		name string
		// wrap builds a promise that waits on task.
		wrap func(s *sim.Sim, task *sim.Promise[int]) *sim.Promise[int]
	}{
		{"task_itself", func(_ *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] { return p }},
		{"bind", func(_ *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Bind(p, sim.Return[int])
		}},
		{"map", func(_ *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Map(p, func(v int) int { return v })
		}},
		{"bind_of_bind", func(_ *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Bind(sim.Bind(p, sim.Return[int]), sim.Return[int])
		}},
		{"bind_continuation", func(s *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			// Once the sleep is over, the result waits on the task.
			return sim.Bind(s.Sleep(0), func(sim.Unit) *sim.Promise[int] { return p })
		}},
		{"catch", func(_ *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Catch(func() *sim.Promise[int] { return p },
				func(err error) *sim.Promise[int] { return sim.Fail[int](err) })
		}},
		{"pick", func(s *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Pick(p, sleepThen(s, time.Hour, 0, nil))
		}},
		{"choose", func(s *sim.Sim, p *sim.Promise[int]) *sim.Promise[int] {
			return sim.Choose(p, sleepThen(s, time.Hour, 0, nil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			task, _ := sim.Task[int]()
			cancelled := false
			sim.OnCancel(task, func() { cancelled = true })
			p := tt.wrap(s, task)
			s.At(time.Second, p.Cancel)
			s.Run(sim.Budget{Until: time.Minute})

			if !cancelled {
				t.Errorf("cancelling %s did not cancel the task it waits on", tt.name)
			}
			checkRejected(t, "task", task, sim.ErrCanceled)
			checkRejected(t, tt.name, p, sim.ErrCanceled)
		})
	}
}

func testLW4WaitCannotBeCancelled(t *testing.T) {
	p, res := sim.Wait[int]()
	q := sim.Bind(p, func(v int) *sim.Promise[int] { return sim.Return(v + 1) })
	p.Cancel()
	q.Cancel()
	checkPending(t, "Wait() after Cancel", p)
	checkPending(t, "Bind(Wait(), f) after Cancel", q)

	res.Resolve(1)
	checkFulfilled(t, "Bind(Wait(), f)", q, 2)
	p.Cancel() // a resolved promise ignores Cancel
	checkFulfilled(t, "Wait() resolved, then cancelled", p, 1)
}

func testLW4ChooseLeavesLosers(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	slow := sleepThen(s, 2*time.Second, "slow", nil)
	fast := sleepThen(s, time.Second, "fast", nil)
	failing := sleepThen(s, 3*time.Second, "", errBoom)
	p := sim.Choose(slow, fast, failing)

	s.Run(sim.Budget{Until: time.Second})
	checkFulfilled(t, "Choose at 1s", p, "fast")
	checkPending(t, "slow loser at 1s", slow)

	s.Run(sim.Budget{})
	checkFulfilled(t, "slow loser", slow, "slow")
	checkRejected(t, "failing loser", failing, errBoom)
	checkFulfilled(t, "Choose after the losers resolved", p, "fast")

	// Among promises already resolved, the first in argument order wins.
	first := sim.Choose(sim.Return(1), sim.Return(2))
	checkFulfilled(t, "Choose(Return(1), Return(2))", first, 1)
	rejected := sim.Choose(sleepThen(s, time.Second, 1, nil), sim.Fail[int](errBoom))
	checkRejected(t, "Choose(pending, Fail(boom))", rejected, errBoom)
}

func testLW4PickCancelsLosers(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	slow := sleepThen(s, 2*time.Second, "slow", nil)
	fast := sleepThen(s, time.Second, "fast", nil)
	waiter, _ := sim.Wait[string]()
	p := sim.Pick(slow, fast, waiter)

	s.Run(sim.Budget{Until: time.Second})
	checkFulfilled(t, "Pick at 1s", p, "fast")
	checkRejected(t, "slow loser at 1s", slow, sim.ErrCanceled)
	checkPending(t, "Wait loser, which cannot be cancelled", waiter)

	s.Run(sim.Budget{})
	checkRejected(t, "slow loser after its time", slow, sim.ErrCanceled)

	// An already resolved promise wins at once and the others are cancelled.
	loser := sleepThen(s, time.Second, 0, nil)
	won := sim.Pick(loser, sim.Return(5))
	checkFulfilled(t, "Pick(pending, Return(5))", won, 5)
	checkRejected(t, "pending loser of Pick", loser, sim.ErrCanceled)
}

func testLW4PauseResolvesNextTurn(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	r := &recorder{}
	s.At(time.Second, func() {
		p := s.Pause()
		checkPending(t, "Pause() right after the call", p)
		sim.On(p, func(sim.Unit, error) {
			r.got = append(r.got, fmt.Sprintf("pause at %v", s.Elapsed()))
		})
		s.After(0, r.event("scheduled after pause"))
	})
	s.At(time.Second, r.event("queued before"))
	s.At(time.Second+1, r.event("next instant"))

	s.Run(sim.Budget{})
	want := []string{"queued before", "pause at 1s", "scheduled after pause", "next instant"}
	checkOrder(t, "Run", r.got, want)
}

func testLW5DefaultHook(t *testing.T) {
	tests := []struct {
		name       string
		fail       time.Duration // when the async body fails
		wantEvents uint64
	}{
		{"synchronous_failure", -1, 0},
		{"later_failure", time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			s.Async(func() *sim.Promise[sim.Unit] {
				if tt.fail < 0 {
					return sim.Fail[sim.Unit](errBoom)
				}
				return sleepThen(s, tt.fail, sim.Unit{}, errBoom)
			})
			after := false
			s.At(2*time.Second, func() { after = true })

			out := s.Run(sim.Budget{})
			checkOutcome(t, "Run", out, sim.Fatal, tt.wantEvents)
			if !errors.Is(out.Err, errBoom) {
				t.Errorf("Run().Err = %v, want %v", out.Err, errBoom)
			}
			if after || s.Pending() != 1 {
				t.Errorf("after a fatal error: later event ran = %v, Pending() = %d, want false, 1",
					after, s.Pending())
			}

			// The error is reported once; a later Run carries on.
			checkOutcome(t, "second Run", s.Run(sim.Budget{}), sim.Idle, 1)
		})
	}
}

func testLW5CustomHook(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	var got []string
	s.SetAsyncExceptionHook(func(err error) {
		got = append(got, fmt.Sprintf("%v at %v", err, s.Elapsed()))
	})
	s.Async(func() *sim.Promise[sim.Unit] { return sim.Fail[sim.Unit](errOther) })
	s.Async(func() *sim.Promise[sim.Unit] {
		return sleepThen(s, time.Second, sim.Unit{}, errBoom)
	})
	s.Async(func() *sim.Promise[sim.Unit] { return s.Sleep(2 * time.Second) })
	after := false
	s.At(3*time.Second, func() { after = true })

	out := s.Run(sim.Budget{})
	checkOutcome(t, "Run", out, sim.Idle, 3)
	checkOrder(t, "hook calls", got, []string{"other at 0s", "boom at 1s"})
	if !after {
		t.Errorf("event after the async errors did not run")
	}

	// Setting nil restores the default, fatal hook.
	s.SetAsyncExceptionHook(nil)
	s.Async(func() *sim.Promise[sim.Unit] {
		return sleepThen(s, time.Second, sim.Unit{}, errBoom)
	})
	out = s.Run(sim.Budget{})
	if out.Reason != sim.Fatal || !errors.Is(out.Err, errBoom) {
		t.Errorf("Run() after SetAsyncExceptionHook(nil) = {%v, %v}, want {fatal, %v}",
			out.Reason, out.Err, errBoom)
	}
}

func testLW6WaitsForever(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	solve, _ := sim.Wait[string]()
	ran := false
	job := sim.Bind(solve, func(string) *sim.Promise[sim.Unit] {
		ran = true
		return sim.Done()
	})
	s.Async(func() *sim.Promise[sim.Unit] {
		return sim.Bind(s.Sleep(time.Hour), func(sim.Unit) *sim.Promise[sim.Unit] { return job })
	})

	out := s.Run(sim.Budget{})
	checkOutcome(t, "Run", out, sim.Idle, 1)
	checkPending(t, "unresolved solve", solve)
	checkPending(t, "job waiting on it", job)
	if ran {
		t.Errorf("Bind on an unresolved promise ran its callback")
	}
}

func TestCallbacksRunInRegistrationOrder(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p, res := sim.Wait[int]()
			var got, want []string
			for i := range n {
				name := fmt.Sprint(i)
				want = append(want, name)
				sim.On(p, func(int, error) { got = append(got, name) })
			}
			res.Resolve(1)
			checkOrder(t, "callbacks", got, want)

			// Callbacks added once p is resolved run at once.
			sim.On(p, func(int, error) { got = append(got, "late") })
			checkOrder(t, "late callback", got, append(want, "late"))
		})
	}
}

func TestResolveTwicePanics(t *testing.T) {
	tests := []struct {
		name          string
		first, second func(r sim.Resolver[int])
	}{
		{"resolve_resolve", resolveWith(1), resolveWith(2)},
		{"resolve_reject", resolveWith(1), rejectWith(errBoom)},
		{"reject_resolve", rejectWith(errBoom), resolveWith(1)},
		{"reject_reject", rejectWith(errBoom), rejectWith(errBoom)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := sim.Wait[int]()
			tt.first(r)
			checkPanics(t, tt.name, func() { tt.second(r) })
		})
	}
}

func resolveWith(v int) func(sim.Resolver[int]) {
	return func(r sim.Resolver[int]) { r.Resolve(v) }
}

func rejectWith(err error) func(sim.Resolver[int]) {
	return func(r sim.Resolver[int]) { r.Reject(err) }
}

// TestResolveAfterCancel checks that resolving a cancelled task is ignored,
// as Lwt.wakeup ignores a promise rejected with Canceled.
func TestResolveAfterCancel(t *testing.T) {
	tests := []struct {
		name    string
		resolve func(r sim.Resolver[int])
	}{
		{"resolve", resolveWith(1)},
		{"reject", rejectWith(errBoom)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := sim.Task[int]()
			p.Cancel()
			tt.resolve(r)
			checkRejected(t, "cancelled task, then "+tt.name, p, sim.ErrCanceled)
		})
	}
}

func TestResolver(t *testing.T) {
	p, r := sim.Task[int]()
	if r.Promise() != p {
		t.Errorf("Task(): Resolver.Promise() is not the promise")
	}
	r.Reject(errBoom)
	checkRejected(t, "Reject(boom)", p, errBoom)
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Duration // when each promise resolves
		errs  []error         // and its error, if any
		want  error
	}{
		{"none", nil, nil, nil},
		{"all_fulfilled", []time.Duration{3, 1, 2}, []error{nil, nil, nil}, nil},
		{"one_rejected", []time.Duration{1, 2, 3}, []error{nil, errBoom, nil}, errBoom},
		// The first rejection in argument order wins, not the first in time.
		{"first_in_argument_order", []time.Duration{3, 1, 2}, []error{nil, errBoom, errOther}, errBoom},
		{"argument_order_over_time", []time.Duration{2, 1}, []error{errOther, errBoom}, errOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			var ps []*sim.Promise[sim.Unit]
			last := time.Duration(0)
			for i, d := range tt.times {
				ps = append(ps, sleepThen(s, d*time.Second, sim.Unit{}, tt.errs[i]))
				last = max(last, d*time.Second)
			}
			p := sim.Join(ps...)
			var at time.Duration
			sim.On(p, func(sim.Unit, error) { at = s.Elapsed() })

			if len(ps) > 0 {
				s.Run(sim.Budget{Until: last - 1})
				checkPending(t, "Join before the last promise resolves", p)
			}
			s.Run(sim.Budget{})
			if at != last {
				t.Errorf("Join resolved at %v, want %v", at, last)
			}
			if tt.want == nil {
				checkFulfilled(t, "Join", p, sim.Unit{})
			} else {
				checkRejected(t, "Join", p, tt.want)
			}
		})
	}
}

func TestJoinCancel(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	a := s.Sleep(time.Second)
	b := s.Sleep(time.Hour)
	p := sim.Join(a, b)
	s.At(time.Minute, p.Cancel)
	s.Run(sim.Budget{})

	checkFulfilled(t, "Join's promise resolved before Cancel", a, sim.Unit{})
	checkRejected(t, "Join's pending promise at Cancel", b, sim.ErrCanceled)
	checkRejected(t, "Join after Cancel", p, sim.ErrCanceled)
}

func TestCatch(t *testing.T) {
	tests := []struct {
		name      string
		body      func(s *sim.Sim) *sim.Promise[int]
		handler   error // what the handler fails with; nil to return -1
		want      int
		wantErr   error
		wantCalls int
	}{
		{"fulfilled_now", outcome(now, 1, nil), nil, 1, nil, 0},
		{"fulfilled_later", outcome(time.Second, 1, nil), nil, 1, nil, 0},
		{"rejected_now_handled", outcome(now, 0, errBoom), nil, -1, nil, 1},
		{"rejected_later_handled", outcome(time.Second, 0, errBoom), nil, -1, nil, 1},
		{"handler_fails", outcome(time.Second, 0, errBoom), errOther, 0, errOther, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			calls := 0
			handle := func(err error) *sim.Promise[int] {
				calls++
				if !errors.Is(err, errBoom) {
					t.Errorf("Catch handler got %v, want %v", err, errBoom)
				}
				if tt.handler != nil {
					return sim.Fail[int](tt.handler)
				}
				return sim.Return(-1)
			}
			p := sim.Catch(func() *sim.Promise[int] { return tt.body(s) }, handle)
			s.Run(sim.Budget{})

			if calls != tt.wantCalls {
				t.Errorf("Catch called its handler %d times, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr != nil {
				checkRejected(t, "Catch", p, tt.wantErr)
			} else {
				checkFulfilled(t, "Catch", p, tt.want)
			}
		})
	}
}

func TestTryBind(t *testing.T) {
	tests := []struct {
		name string
		body func(s *sim.Sim) *sim.Promise[int]
		want string
	}{
		{"fulfilled_now", outcome(now, 1, nil), "ok 1 at 0s"},
		{"fulfilled_later", outcome(time.Second, 2, nil), "ok 2 at 1s"},
		{"rejected_now", outcome(now, 0, errBoom), "ko boom at 0s"},
		{"rejected_later", outcome(time.Second, 0, errBoom), "ko boom at 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			p := sim.TryBind(func() *sim.Promise[int] { return tt.body(s) },
				func(v int) *sim.Promise[string] {
					return sim.Return(fmt.Sprintf("ok %d at %v", v, s.Elapsed()))
				},
				func(err error) *sim.Promise[string] {
					return sim.Return(fmt.Sprintf("ko %v at %v", err, s.Elapsed()))
				})
			s.Run(sim.Budget{})
			checkFulfilled(t, "TryBind", p, tt.want)
		})
	}
}

func TestTryBindWaitsForContinuation(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p := sim.TryBind(func() *sim.Promise[int] { return sleepThen(s, time.Second, 1, nil) },
		func(v int) *sim.Promise[int] { return sleepThen(s, time.Second, v+1, nil) },
		func(err error) *sim.Promise[int] { return sim.Fail[int](err) })

	s.Run(sim.Budget{Until: time.Second})
	checkPending(t, "TryBind while ok's promise is pending", p)
	s.Run(sim.Budget{})
	checkFulfilled(t, "TryBind", p, 2)
}

func TestBindOnFulfilledRunsAtOnce(t *testing.T) {
	ran := false
	p := sim.Bind(sim.Return(20), func(v int) *sim.Promise[int] {
		ran = true
		return sim.Return(v + 1)
	})
	if !ran {
		t.Fatalf("Bind(Return(20), f) did not run f before returning")
	}
	checkFulfilled(t, "Bind(Return(20), f)", p, 21)

	m := sim.Map(sim.Return(20), func(v int) int { return v * 2 })
	checkFulfilled(t, "Map(Return(20), double)", m, 40)
}

// MapErr settles as Bind does with a function that returns Return or
// Fail: on promises resolved already and later, fulfilled and rejected,
// with f succeeding and failing; and it forwards Cancel as Bind does.
func TestMapErrIsBindOfReturnOrFail(t *testing.T) {
	errIn, errF := errors.New("in"), errors.New("f")
	half := func(v int) (int, error) {
		if v%2 != 0 {
			return 0, errF
		}
		return v / 2, nil
	}
	bindHalf := func(v int) *sim.Promise[int] {
		h, err := half(v)
		if err != nil {
			return sim.Fail[int](err)
		}
		return sim.Return(h)
	}
	for _, later := range []bool{false, true} {
		for _, in := range []struct {
			v   int
			err error
		}{{20, nil}, {21, nil}, {0, errIn}} {
			s := sim.New(sim.Config{Seed: 1})
			source := func() *sim.Promise[int] {
				if later {
					return sleepThen(s, time.Second, in.v, in.err)
				}
				if in.err != nil {
					return sim.Fail[int](in.err)
				}
				return sim.Return(in.v)
			}
			got, want := sim.MapErr(source(), half), sim.Bind(source(), bindHalf)
			s.Run(sim.Budget{})
			what := fmt.Sprintf("MapErr(%v, %v, later %v)", in.v, in.err, later)
			gv, gerr := got.Result()
			wv, werr := want.Result()
			if got.State() != want.State() || gv != wv || gerr != werr {
				t.Errorf("%s = %v %v %v, Bind gives %v %v %v", what, got.State(), gv, gerr, want.State(), wv, werr)
			}
		}
	}

	task, _ := sim.Task[int]()
	m := sim.MapErr(task, half)
	m.Cancel()
	checkRejected(t, "MapErr(task) after Cancel", m, sim.ErrCanceled)
	checkRejected(t, "the task MapErr waits on, after Cancel", task, sim.ErrCanceled)
}

func TestBindWaitsForContinuation(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p := sim.Bind(sleepThen(s, time.Second, 1, nil), func(v int) *sim.Promise[int] {
		return sleepThen(s, time.Second, v+1, nil)
	})

	s.Run(sim.Budget{Until: time.Second})
	checkPending(t, "Bind while f's promise is pending", p)
	s.Run(sim.Budget{})
	checkFulfilled(t, "Bind", p, 2)
}

func TestSleep(t *testing.T) {
	tests := []struct {
		name  string
		start time.Duration // when Sleep is called
		d     time.Duration
		want  time.Duration // elapsed time when it resolves
	}{
		{"from_zero", 0, 90 * time.Second, 90 * time.Second},
		{"from_later", time.Hour, time.Minute, time.Hour + time.Minute},
		{"zero", time.Minute, 0, time.Minute},
		{"negative_is_zero", time.Minute, -time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			var at time.Duration
			resolved := false
			s.At(tt.start, func() {
				p := s.Sleep(tt.d)
				checkPending(t, "Sleep right after the call", p)
				sim.On(p, func(_ sim.Unit, err error) {
					at, resolved = s.Elapsed(), err == nil
				})
			})
			s.Run(sim.Budget{})
			if !resolved || at != tt.want {
				t.Errorf("Sleep(%v) at %v fulfilled = %v at %v, want true at %v",
					tt.d, tt.start, resolved, at, tt.want)
			}
		})
	}
}

func TestSleepCancel(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	p := s.Sleep(time.Hour)
	var at time.Duration
	sim.On(p, func(sim.Unit, error) { at = s.Elapsed() })
	s.At(time.Minute, p.Cancel)

	out := s.Run(sim.Budget{})
	checkRejected(t, "Sleep(1h) cancelled at 1m", p, sim.ErrCanceled)
	if at != time.Minute {
		t.Errorf("Sleep(1h) cancelled at 1m resolved at %v, want 1m0s", at)
	}
	// The timer's event still runs, and does nothing.
	checkOutcome(t, "Run", out, sim.Idle, 2)
}

func TestOnCancel(t *testing.T) {
	tests := []struct {
		name string
		end  func(r sim.Resolver[int]) // nil to call Cancel
		want bool
	}{
		{"cancelled", nil, true},
		{"rejected_with_ErrCanceled", rejectWith(sim.ErrCanceled), true},
		{"rejected_with_wrapped_ErrCanceled",
			rejectWith(fmt.Errorf("solve: %w", sim.ErrCanceled)), true},
		{"rejected_otherwise", rejectWith(errBoom), false},
		{"fulfilled", resolveWith(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := sim.Task[int]()
			called := 0
			sim.OnCancel(p, func() { called++ })
			if tt.end == nil {
				p.Cancel()
			} else {
				tt.end(r)
			}
			if got := called > 0; got != tt.want || called > 1 {
				t.Errorf("OnCancel callback ran %d times, want %v", called, tt.want)
			}

			// Added after the fact, it runs at once if p was cancelled.
			late := false
			sim.OnCancel(p, func() { late = true })
			if late != tt.want {
				t.Errorf("late OnCancel callback ran = %v, want %v", late, tt.want)
			}
		})
	}
}

func TestConstants(t *testing.T) {
	checkFulfilled(t, "Return(3)", sim.Return(3), 3)
	checkFulfilled(t, "Done()", sim.Done(), sim.Unit{})
	checkRejected(t, "Fail(boom)", sim.Fail[int](errBoom), errBoom)

	p, _ := sim.Wait[int]()
	if v, err := p.Result(); v != 0 || err != nil {
		t.Errorf("Wait().Result() = %v, %v, want 0, <nil>", v, err)
	}
}

// A rejection with a nil error is still a rejection, with a nil error.
func TestRejectNil(t *testing.T) {
	waited, r := sim.Wait[int]()
	r.Reject(nil)
	tests := []struct {
		name string
		p    *sim.Promise[int]
	}{
		{"Fail(nil)", sim.Fail[int](nil)},
		{"Wait() rejected with nil", waited},
	}
	for _, tt := range tests {
		if v, err := tt.p.Result(); tt.p.State() != sim.Rejected || v != 0 || err != nil {
			t.Errorf("%s = %v (%v, %v), want rejected (0, <nil>)", tt.name, tt.p.State(), v, err)
		}
	}
}

// TestAllocs pins what the kernel allocates: nothing to schedule a
// prepared callback once the queue has grown, and one object for each
// Sleep, each pending promise of Wait, and each Bind or Map on one.
func TestAllocs(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	tick := func() {}
	for range 1000 {
		s.After(time.Second, tick)
	}
	s.Run(sim.Budget{})
	next := func(sim.Unit) *sim.Promise[sim.Unit] { return sim.Done() }
	unit := func(sim.Unit) sim.Unit { return sim.Unit{} }
	unitErr := func(sim.Unit) (sim.Unit, error) { return sim.Unit{}, nil }

	tests := []struct {
		name string
		f    func()
		want float64
	}{
		{"At", func() { s.After(time.Second, tick) }, 0},
		{"Sleep", func() { s.Sleep(time.Second) }, 1},
		{"Bind on Wait", func() {
			p, _ := sim.Wait[sim.Unit]()
			sim.Bind(p, next)
		}, 2},
		{"Map on Wait", func() {
			p, _ := sim.Wait[sim.Unit]()
			sim.Map(p, unit)
		}, 2},
		{"MapErr on Wait", func() {
			p, _ := sim.Wait[sim.Unit]()
			sim.MapErr(p, unitErr)
		}, 2},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got != tt.want {
			t.Errorf("%s: %v allocations, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s    sim.State
		want string
	}{
		{sim.Pending, "pending"},
		{sim.Fulfilled, "fulfilled"},
		{sim.Rejected, "rejected"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}
