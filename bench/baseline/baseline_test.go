package baseline

import (
	"cmp"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// reference computes by hand what a first-come-first-served pool of
// w.Slots slots does with w: in order of arrival, each process starts at
// its arrival or when the earliest slot frees, whichever is later.
func reference(w Workload) Result {
	order := make([]int, len(w.Procs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(w.Procs[a].Arrive, w.Procs[b].Arrive)
	})

	free := make([]time.Duration, w.Slots) // when each slot is next free
	res := make(Result, len(w.Procs))
	for _, i := range order {
		k := slices.Index(free, slices.Min(free))
		start := max(w.Procs[i].Arrive, free[k])
		free[k] = start + w.Procs[i].Hold
		res[i] = free[k]
	}
	return res
}

var workloads = []struct {
	name string
	w    Workload
}{
	{"no contention: a slot for every process", NewWorkload(1, 50, 50)},
	{"one slot: processes run one after another", NewWorkload(2, 50, 1)},
	{"ten slots for a hundred processes", NewWorkload(3, 100, 10)},
}

func TestJobsimMatchesReference(t *testing.T) {
	for _, tc := range workloads {
		if got, want := Jobsim(tc.w), reference(tc.w); !got.Equal(want) {
			t.Errorf("%s: Jobsim(w) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestJobsimEventsMatchesReference(t *testing.T) {
	for _, tc := range workloads {
		if got, want := JobsimEvents(tc.w), reference(tc.w); !got.Equal(want) {
			t.Errorf("%s: JobsimEvents(w) = %v, want %v", tc.name, got, want)
		}
	}
}

// The goroutine code in a synctest bubble is exact: the bubble advances
// time only once every goroutine is durably blocked.
func TestSynctestMatchesReference(t *testing.T) {
	for _, tc := range workloads {
		var got Result
		synctest.Test(t, func(*testing.T) {
			run := Start(Std{}, tc.w)
			<-run.Done
			got = run.Result
		})
		if want := reference(tc.w); !got.Equal(want) {
			t.Errorf("%s: Start(Std{}, w) in a bubble = %v, want %v", tc.name, got, want)
		}
	}
}

// The mock clock guesses when goroutines have reacted, so its result is
// only checked for completeness; whether it is exact is logged.
func TestRunMockFinishesEveryProcess(t *testing.T) {
	w := NewWorkload(4, 10, 3)
	got := RunMock(w)
	if i := slices.Index(got, 0); i >= 0 {
		t.Fatalf("RunMock(w): process %d never finished: %v", i, got)
	}
	t.Logf("RunMock(w) exact: %v (makespan %v, want %v)",
		got.Equal(reference(w)), got.Makespan(), reference(w).Makespan())
}
