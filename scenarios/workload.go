package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/sim"
)

// Arrival is one analysis and the elapsed virtual time it starts at.
type Arrival struct {
	At       time.Duration
	Analysis ocamlci.Analysis
}

// Workload is the analyses a run starts, in order of arrival.
type Workload []Arrival

// Solves returns how many solves the workload asks for in all.
func (w Workload) Solves() int {
	n := 0
	for _, a := range w {
		n += len(a.Analysis.Solves)
	}
	return n
}

// CIDay describes ocaml-ci's load: analyses of single repositories as
// commits are pushed, at random through the day, and opam-repository
// pushes that re-analyse every watched repository at once.
type CIDay struct {
	Repos       int           // watched repositories
	CommitEvery time.Duration // mean gap between commits to some repository
	PushEvery   time.Duration // mean gap between opam-repository pushes
	MinSolves   int           // solves per analysis, at least
	MaxSolves   int           // and at most
	SolveMin    time.Duration // a solve's duration, at least
	SolveMax    time.Duration // and at most
	Platforms   int           // platforms every solve covers
	RepoPrefix  string        // repositories are named RepoPrefix + number
}

// DefaultCIDay is the load of the leak scenario: 30 watched repositories, a
// commit every 30 minutes on average, an opam-repository push every 8 hours
// on average, 2 or 3 solves per analysis lasting 5 to 45 seconds.
var DefaultCIDay = CIDay{
	Repos: 30, CommitEvery: 30 * time.Minute, PushEvery: 8 * time.Hour,
	MinSolves: 2, MaxSolves: 3, SolveMin: 5 * time.Second, SolveMax: 45 * time.Second,
	Platforms: 12, RepoPrefix: "org/repo-",
}

// Generate draws the workload for seed over the given duration. Arrival
// times and repositories come from the seed's "arrivals/…" streams, solve
// counts and durations from its "durations/…" streams, so every design run
// on the same seed sees the same workload, and a longer run starts with
// the workload of a shorter one.
func (c CIDay) Generate(seed uint64, duration time.Duration) Workload {
	// Commits and pushes each draw from streams of their own, so a longer
	// run begins with exactly the workload of a shorter one.
	pushTimes := sim.NewStream(seed, "arrivals/pushes")
	commitTimes := sim.NewStream(seed, "arrivals/commits")

	// The opam-repository head changes at each push.
	var pushes []time.Duration
	for t := gap(pushTimes, c.PushEvery); t < duration; t += gap(pushTimes, c.PushEvery) {
		pushes = append(pushes, t)
	}
	commitAt := func(t time.Duration) string {
		n, _ := slices.BinarySearch(pushes, t+1)
		return fmt.Sprintf("%07x", (uint32(n+1)*2654435761)&0xfffffff)
	}

	var w Workload
	add := func(durations *sim.Stream, at time.Duration, repo int) {
		n := c.MinSolves + durations.IntN(c.MaxSolves-c.MinSolves+1)
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = durations.Between(c.SolveMin, c.SolveMax).Truncate(time.Millisecond)
		}
		w = append(w, Arrival{At: at, Analysis: ocamlci.Analysis{
			Repo:   fmt.Sprintf("%s%02d", c.RepoPrefix, repo),
			Commit: commitAt(at),
			Solves: ocamlci.Solves(n, ds, c.Platforms),
		}})
	}

	// Commits to single repositories, then the bursts of the pushes.
	commitSolves := sim.NewStream(seed, "durations/commits")
	for t := gap(commitTimes, c.CommitEvery); t < duration; t += gap(commitTimes, c.CommitEvery) {
		add(commitSolves, t, 1+commitTimes.IntN(c.Repos))
	}
	pushSolves := sim.NewStream(seed, "durations/pushes")
	for _, t := range pushes {
		for r := 1; r <= c.Repos; r++ {
			add(pushSolves, t, r)
		}
	}
	slices.SortStableFunc(w, func(a, b Arrival) int { return cmp.Compare(a.At, b.At) })
	return w
}

// gap draws the time to the next arrival of a Poisson process with the
// given mean gap, to the millisecond.
func gap(r *sim.Stream, mean time.Duration) time.Duration {
	return r.Exp(mean).Truncate(time.Millisecond)
}
