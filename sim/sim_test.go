package sim_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// recorder collects the names of events in the order they run.
type recorder struct{ got []string }

// event returns a callback that records name when it runs.
func (r *recorder) event(name string) func() {
	return func() { r.got = append(r.got, name) }
}

// checkOrder fails t unless the recorded names are want, in order.
func checkOrder(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: order = %q, want %q", what, got, want)
	}
}

// checkOutcome fails t unless out has the given reason and event count.
func checkOutcome(t testing.TB, what string, out sim.Outcome,
	reason sim.StopReason, events uint64) {
	t.Helper()
	if out.Reason != reason || out.Events != events {
		t.Errorf("%s = {%v, %d events, err %v}, want {%v, %d events}",
			what, out.Reason, out.Events, out.Err, reason, events)
	}
}

func TestNew(t *testing.T) {
	epoch := time.Date(2000, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	tests := []struct {
		name string
		cfg  sim.Config
		want time.Time
	}{
		{"zero_epoch_means_default", sim.Config{Seed: 7}, sim.DefaultEpoch},
		{"epoch_taken_in_utc", sim.Config{Seed: 7, Epoch: epoch}, epoch.UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(tt.cfg)
			if got := s.Epoch(); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Epoch() = %v, want %v in UTC", got, tt.want)
			}
			if got := s.Now(); !got.Equal(tt.want) {
				t.Errorf("Now() = %v, want %v", got, tt.want)
			}
			if got := s.Seed(); got != tt.cfg.Seed {
				t.Errorf("Seed() = %d, want %d", got, tt.cfg.Seed)
			}
			if s.Elapsed() != 0 || s.Steps() != 0 || s.Pending() != 0 {
				t.Errorf("Elapsed, Steps, Pending = %v, %d, %d, want 0, 0, 0",
					s.Elapsed(), s.Steps(), s.Pending())
			}
		})
	}
}

func TestEventOrder(t *testing.T) {
	tests := []struct {
		name     string
		schedule func(s *sim.Sim, r *recorder)
		want     []string
	}{
		{
			name: "by_time",
			schedule: func(s *sim.Sim, r *recorder) {
				s.At(3*time.Second, r.event("c"))
				s.At(1*time.Second, r.event("a"))
				s.At(2*time.Second, r.event("b"))
			},
			want: []string{"a", "b", "c"},
		},
		{
			name: "same_instant_in_scheduling_order",
			schedule: func(s *sim.Sim, r *recorder) {
				for _, name := range []string{"a", "b", "c", "d", "e"} {
					s.At(time.Second, r.event(name))
				}
			},
			want: []string{"a", "b", "c", "d", "e"},
		},
		{
			name: "after_is_relative_to_now",
			schedule: func(s *sim.Sim, r *recorder) {
				s.At(10*time.Second, func() {
					r.got = append(r.got, "t10")
					s.After(time.Second, r.event("t11"))
				})
				s.At(12*time.Second, r.event("t12"))
				s.At(5*time.Second, func() {
					r.got = append(r.got, "t5")
					s.After(6*time.Second, r.event("t5+6"))
				})
			},
			want: []string{"t5", "t10", "t5+6", "t11", "t12"},
		},
		{
			// A past time is taken as now, after what is queued for now.
			name: "past_time_runs_now_after_queued",
			schedule: func(s *sim.Sim, r *recorder) {
				s.At(10*time.Second, func() {
					r.got = append(r.got, "first")
					s.At(time.Second, r.event("past"))
					s.After(-time.Hour, r.event("negative-after"))
				})
				s.At(10*time.Second, r.event("second"))
				s.At(11*time.Second, r.event("later"))
			},
			want: []string{"first", "second", "past", "negative-after", "later"},
		},
		{
			// A Sleep wakes by an event like any other.
			name: "sleep_in_scheduling_order",
			schedule: func(s *sim.Sim, r *recorder) {
				s.At(time.Second, r.event("a"))
				sim.On(s.Sleep(time.Second), func(sim.Unit, error) {
					r.got = append(r.got, "sleep")
				})
				s.At(time.Second, r.event("b"))
			},
			want: []string{"a", "sleep", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			r := &recorder{}
			tt.schedule(s, r)
			out := s.Run(sim.Budget{})
			checkOutcome(t, "Run", out, sim.Idle, uint64(len(tt.want)))
			checkOrder(t, "Run", r.got, tt.want)
		})
	}
}

func TestPastTimeRunsAtNow(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	var at time.Duration
	s.At(time.Minute, func() {
		s.At(time.Second, func() { at = s.Elapsed() })
	})
	s.Run(sim.Budget{})
	if at != time.Minute {
		t.Errorf("At(1s) scheduled at 1m ran at Elapsed() = %v, want 1m0s", at)
	}
}

// TestEventOrderRandom schedules many events at random times, some of
// them from inside running events, some in the past and some as Sleeps,
// and checks that they run sorted by (time, scheduling order).
func TestEventOrderRandom(t *testing.T) {
	const seed, initial = 42, 2000
	s := sim.New(sim.Config{Seed: seed})
	rng := s.Stream("test-order")

	type scheduled struct {
		id int
		at time.Duration // when it should run: past times taken as now
	}
	var (
		plan []scheduled // in scheduling order
		ran  []int
		bad  int
	)
	var schedule func(at time.Duration)
	schedule = func(at time.Duration) {
		id := len(plan)
		plan = append(plan, scheduled{id, max(at, s.Elapsed())})
		run := func() {
			ran = append(ran, id)
			if s.Elapsed() != plan[id].at {
				bad++
			}
			// One event in four schedules another, possibly in the past.
			if rng.IntN(4) == 0 {
				schedule(s.Elapsed() + time.Duration(rng.IntN(20)-5)*time.Second)
			}
		}
		// One event in three is a Sleep's.
		if rng.IntN(3) == 0 {
			sim.On(s.Sleep(at-s.Elapsed()), func(sim.Unit, error) { run() })
			return
		}
		s.At(at, run)
	}
	for range initial {
		// Few distinct instants, so that many events share one.
		schedule(time.Duration(rng.IntN(50)) * time.Second)
	}

	out := s.Run(sim.Budget{})
	if out.Reason != sim.Idle || out.Events != uint64(len(plan)) {
		t.Fatalf("Run = {%v, %d events}, want {idle, %d events} (seed %d)",
			out.Reason, out.Events, len(plan), seed)
	}
	if bad > 0 {
		t.Errorf("%d events ran at a time other than scheduled (seed %d)", bad, seed)
	}

	want := slices.Clone(plan)
	sort.SliceStable(want, func(i, j int) bool { return want[i].at < want[j].at })
	for i, w := range want {
		if ran[i] != w.id {
			t.Fatalf("event #%d run = id %d, want id %d at %v (seed %d)",
				i, ran[i], w.id, w.at, seed)
		}
	}
	if s.Steps() != uint64(len(plan)) {
		t.Errorf("Steps() = %d, want %d", s.Steps(), len(plan))
	}
}

func TestRunIdle(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	checkOutcome(t, "Run on an empty queue", s.Run(sim.Budget{}), sim.Idle, 0)
	checkOutcome(t, "Run with Until on an empty queue",
		s.Run(sim.Budget{Until: time.Hour}), sim.Idle, 0)

	s.At(time.Second, func() {})
	out := s.Run(sim.Budget{})
	checkOutcome(t, "Run", out, sim.Idle, 1)
	if out.Err != nil {
		t.Errorf("Run().Err = %v, want nil", out.Err)
	}
	if s.Elapsed() != time.Second {
		t.Errorf("Elapsed() = %v, want 1s", s.Elapsed())
	}
}

func TestRunDeadline(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	r := &recorder{}
	for _, sec := range []int{1, 5, 10, 11, 20} {
		s.At(time.Duration(sec)*time.Second, r.event(fmt.Sprint(sec)))
	}

	// Events at exactly Until run; later ones stay queued.
	out := s.Run(sim.Budget{Until: 10 * time.Second})
	checkOutcome(t, "Run(Until 10s)", out, sim.Deadline, 3)
	checkOrder(t, "Run(Until 10s)", r.got, []string{"1", "5", "10"})
	if s.Elapsed() != 10*time.Second || s.Pending() != 2 {
		t.Errorf("after Run(Until 10s): Elapsed, Pending = %v, %d, want 10s, 2",
			s.Elapsed(), s.Pending())
	}

	// Time moves to Until even when no event falls at it.
	out = s.Run(sim.Budget{Until: 15 * time.Second})
	checkOutcome(t, "Run(Until 15s)", out, sim.Deadline, 1)
	if s.Elapsed() != 15*time.Second || s.Pending() != 1 {
		t.Errorf("after Run(Until 15s): Elapsed, Pending = %v, %d, want 15s, 1",
			s.Elapsed(), s.Pending())
	}

	// An event scheduled now runs before the one left queued.
	s.After(0, r.event("now"))
	out = s.Run(sim.Budget{})
	checkOutcome(t, "Run()", out, sim.Idle, 2)
	checkOrder(t, "all runs", r.got, []string{"1", "5", "10", "11", "now", "20"})
	if s.Elapsed() != 20*time.Second {
		t.Errorf("Elapsed() = %v, want 20s", s.Elapsed())
	}
}

func TestRunDeadlineNeverMovesTimeBack(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	s.At(time.Minute, func() {})
	s.At(time.Hour, func() {})
	s.Run(sim.Budget{Until: 30 * time.Minute})

	out := s.Run(sim.Budget{Until: 10 * time.Minute})
	checkOutcome(t, "Run(Until earlier than now)", out, sim.Deadline, 0)
	if s.Elapsed() != 30*time.Minute {
		t.Errorf("Elapsed() = %v, want 30m0s", s.Elapsed())
	}
}

func TestRunEventBudget(t *testing.T) {
	tests := []struct {
		name      string
		max       uint64
		queued    int // events scheduled at distinct instants
		forever   bool
		want      sim.StopReason
		wantRun   uint64
		wantAfter int // Pending() after the run
	}{
		{"budget_spent_with_work_left", 3, 5, false, sim.EventBudget, 3, 2},
		{"budget_exactly_enough", 5, 5, false, sim.Idle, 5, 0},
		{"budget_larger_than_work", 10, 5, false, sim.Idle, 5, 0},
		{"self_rescheduling_event", 1000, 0, true, sim.EventBudget, 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			for i := range tt.queued {
				s.At(time.Duration(i)*time.Second, func() {})
			}
			if tt.forever {
				var tick func()
				tick = func() { s.After(time.Millisecond, tick) }
				s.After(0, tick)
			}

			out := s.Run(sim.Budget{MaxEvents: tt.max})
			checkOutcome(t, "Run", out, tt.want, tt.wantRun)
			if got := s.Pending(); got != tt.wantAfter {
				t.Errorf("Pending() = %d, want %d", got, tt.wantAfter)
			}
			if tt.want == sim.EventBudget && !errors.Is(out.Err, sim.ErrEventBudget) {
				t.Errorf("Run().Err = %v, want it to wrap ErrEventBudget", out.Err)
			}
			if tt.want != sim.EventBudget && out.Err != nil {
				t.Errorf("Run().Err = %v, want nil", out.Err)
			}
		})
	}
}

func TestRunEventBudgetContinues(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	n := 0
	for i := range 10 {
		s.At(time.Duration(i)*time.Second, func() { n++ })
	}
	for range 3 {
		s.Run(sim.Budget{MaxEvents: 3})
	}
	checkOutcome(t, "last Run", s.Run(sim.Budget{MaxEvents: 3}), sim.Idle, 1)
	if n != 10 || s.Steps() != 10 {
		t.Errorf("events run, Steps() = %d, %d, want 10, 10", n, s.Steps())
	}
}

func TestStop(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	r := &recorder{}
	s.At(1*time.Second, r.event("a"))
	s.At(2*time.Second, func() {
		r.got = append(r.got, "stopper")
		s.Stop()
		r.got = append(r.got, "stopper ends")
	})
	s.At(2*time.Second, r.event("b"))
	s.At(3*time.Second, r.event("c"))

	// The event that calls Stop runs to its end, then Run returns.
	checkOutcome(t, "Run", s.Run(sim.Budget{}), sim.Stopped, 2)
	checkOrder(t, "Run", r.got, []string{"a", "stopper", "stopper ends"})
	if s.Pending() != 2 {
		t.Errorf("Pending() = %d, want 2", s.Pending())
	}

	// A later Run carries on.
	checkOutcome(t, "second Run", s.Run(sim.Budget{}), sim.Idle, 2)
	checkOrder(t, "both runs", r.got, []string{"a", "stopper", "stopper ends", "b", "c"})
}

func TestStopReasonString(t *testing.T) {
	tests := []struct {
		r    sim.StopReason
		want string
	}{
		{sim.Idle, "idle"},
		{sim.Deadline, "deadline"},
		{sim.EventBudget, "event budget"},
		{sim.Stopped, "stopped"},
		{sim.Fatal, "fatal"},
		{sim.StopReason(99), "StopReason(99)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("StopReason(%d).String() = %q, want %q", int(tt.r), got, tt.want)
		}
	}
}

// draw returns the next n values of r.
func draw(t testing.TB, r *sim.Stream, n int) []uint64 {
	t.Helper()
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

// streamDraws says how to get a stream's draws for TestStreams.
type streamDraws struct {
	seed    uint64
	purpose string
	// before, if set, is a purpose to draw 100 values from first.
	before string
	// direct takes the stream from NewStream instead of from a Sim.
	direct bool
}

func (sd streamDraws) draw(t testing.TB, n int) []uint64 {
	t.Helper()
	if sd.direct {
		return draw(t, sim.NewStream(sd.seed, sd.purpose), n)
	}
	s := sim.New(sim.Config{Seed: sd.seed})
	if sd.before != "" {
		draw(t, s.Stream(sd.before), 100)
	}
	return draw(t, s.Stream(sd.purpose), n)
}

func TestStreams(t *testing.T) {
	tests := []struct {
		name  string
		a, b  streamDraws
		equal bool
	}{
		{
			name:  "same_seed_and_purpose_same_draws",
			a:     streamDraws{seed: 9, purpose: "arrivals"},
			b:     streamDraws{seed: 9, purpose: "arrivals"},
			equal: true,
		},
		{
			name:  "NewStream_matches_Sim_Stream",
			a:     streamDraws{seed: 9, purpose: "job-ids"},
			b:     streamDraws{seed: 9, purpose: "job-ids", direct: true},
			equal: true,
		},
		{
			name:  "different_purposes_differ",
			a:     streamDraws{seed: 9, purpose: "arrivals"},
			b:     streamDraws{seed: 9, purpose: "durations"},
			equal: false,
		},
		{
			name:  "different_seeds_differ",
			a:     streamDraws{seed: 9, purpose: "arrivals"},
			b:     streamDraws{seed: 10, purpose: "arrivals"},
			equal: false,
		},
		{
			name:  "drawing_one_stream_does_not_shift_another",
			a:     streamDraws{seed: 9, purpose: "b", before: "a"},
			b:     streamDraws{seed: 9, purpose: "b"},
			equal: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a.draw(t, 20), tt.b.draw(t, 20)
			if got := slices.Equal(a, b); got != tt.equal {
				t.Errorf("draws of %+v and %+v equal = %v, want %v\na: %v\nb: %v",
					tt.a, tt.b, got, tt.equal, a, b)
			}
		})
	}
}

func TestStreamIsShared(t *testing.T) {
	s := sim.New(sim.Config{Seed: 3})
	if s.Stream("faults") != s.Stream("faults") {
		t.Errorf("Stream(%q) returned two different streams", "faults")
	}
}

func TestStreamExp(t *testing.T) {
	const n, mean = 100000, time.Minute
	r := sim.NewStream(5, "arrivals")
	var sum time.Duration
	for range n {
		d := r.Exp(mean)
		if d < 0 {
			t.Fatalf("Exp(%v) = %v, want >= 0", mean, d)
		}
		sum += d
	}
	// The standard error of the mean of n draws is mean/sqrt(n), about
	// 0.3% here; allow 2%.
	if got := sum / n; got < mean*98/100 || got > mean*102/100 {
		t.Errorf("mean of %d Exp(%v) = %v, want within 2%% of %v", n, mean, got, mean)
	}
}

func TestStreamBetween(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi time.Duration
	}{
		{"small_range_hits_both_ends", 3 * time.Second, 3*time.Second + 3},
		{"minutes", time.Minute, 10 * time.Minute},
		{"negative_lo", -time.Second, time.Second},
		{"empty_range", time.Second, time.Second},
		{"hi_below_lo", time.Second, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sim.NewStream(5, "durations")
			seen := map[time.Duration]bool{}
			for range 1000 {
				d := r.Between(tt.lo, tt.hi)
				if tt.hi <= tt.lo {
					if d != tt.lo {
						t.Fatalf("Between(%v, %v) = %v, want %v", tt.lo, tt.hi, d, tt.lo)
					}
					continue
				}
				if d < tt.lo || d > tt.hi {
					t.Fatalf("Between(%v, %v) = %v, want within [lo, hi]", tt.lo, tt.hi, d)
				}
				seen[d] = true
			}
			if tt.hi-tt.lo < 10 && tt.hi > tt.lo && (!seen[tt.lo] || !seen[tt.hi]) {
				t.Errorf("1000 Between(%v, %v) never drew an end: saw lo %v, hi %v",
					tt.lo, tt.hi, seen[tt.lo], seen[tt.hi])
			}
		})
	}
}
