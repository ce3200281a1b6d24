package property

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/scenarios"
)

// benchProperties are the properties the benchmarks run: each design
// under the fault model its property draws from.
var benchProperties = []struct {
	name string
	prop Property
}{
	{"design=module/faults=F1-F10", Property{Design: "module", Faults: Survivable}},
	{"design=per-call/faults=F1-F10", Property{Design: "per-call", Faults: Survivable}},
	{"design=per-call/faults=F11-F13", Property{Design: "per-call", Faults: SolverJobDescriptors}},
	{"design=local/faults=all", Property{Design: "local", Faults: Everything}},
}

// BenchmarkCases runs the properties' cases one after another as rapid
// draws them: one op is one case drawn and run, healed and drained, with
// the ledger checking after every event. It reports cases per second; the
// ledger=off runs show what the ledger costs.
func BenchmarkCases(b *testing.B) {
	for _, bp := range benchProperties {
		for _, withLedger := range []bool{true, false} {
			name := bp.name + "/ledger=on"
			if !withLedger {
				name = bp.name + "/ledger=off"
			}
			b.Run(name, func(b *testing.B) { benchCases(b, bp.prop, withLedger) })
		}
	}
}

func benchCases(b *testing.B, prop Property, withLedger bool) {
	gen := rapid.Custom(func(t *rapid.T) Case { return drawCase(t, prop.Faults, prop.Logs) })
	b.ReportAllocs()
	var events uint64
	i := 0
	for b.Loop() {
		c := gen.Example(i)
		p := prop.params(c)
		if !withLedger {
			p.Checks = 0
		}
		rep, err := scenarios.Execute(p, c.Workload)
		if err != nil {
			b.Fatalf("case %d: %v", i, err)
		}
		events += rep.Events
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/case")
}

// BenchmarkFindAndShrink is how long the harness takes to find a known
// breach and shrink it to its smallest case: one op is one search, with
// rapid's seed the op's number, so that the ops are searches from
// different seeds. It reports the median time of a search, the median
// number of cases it ran, shrinking included, and the share of searches
// that shrank the breach to its smallest case.
func BenchmarkFindAndShrink(b *testing.B) {
	for _, bp := range []struct {
		name     string
		prop     Property
		smallest string // the plan of the smallest case, of one analysis with one solve
	}{
		{"module-level_leak", Property{Design: "module", Faults: Survivable}, ""},
		{"F12_per-call", Property{Design: "per-call", Faults: SolverJobDescriptors}, `emfile@job-log:"Got resource"`},
	} {
		b.Run(bp.name, func(b *testing.B) {
			var times []time.Duration
			var cases []int
			smallest := 0
			seed := uint64(0)
			for b.Loop() {
				seed++
				start := time.Now()
				found, err := Find(b, seed, 0, bp.prop)
				if err != nil {
					b.Fatal(err)
				}
				if found.Shrunk == nil {
					b.Fatalf("seed %d: nothing found", seed)
				}
				times = append(times, time.Since(start))
				cases = append(cases, found.Cases)
				c := found.Shrunk.Case
				if len(c.Workload) == 1 && c.Workload.Solves() == 1 && c.Faults.String() == bp.smallest {
					smallest++
				} else {
					b.Logf("seed %d shrank to %s", seed, c)
				}
			}
			slices.Sort(times)
			slices.Sort(cases)
			b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "median-ms/find")
			b.ReportMetric(float64(cases[len(cases)/2]), "median-cases/find")
			b.ReportMetric(float64(smallest)/float64(len(times)), "smallest/find")
		})
	}
}
