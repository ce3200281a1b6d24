package scenarios

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/sim"
)

// week is how long work arrives in the model benchmarks.
const week = 7 * 24 * time.Hour

// busyWeek is a CI load scale times the unit load: 3·scale watched
// repositories, a commit every 50/scale minutes and an opam-repository
// push every 2 hours that re-analyses every repository. Over a week the
// unit load asks for about 1,200 solves; scale 100, a busy week of
// ocaml-ci, for about 119,000.
func busyWeek(scale int) CIDay {
	c := DefaultCIDay
	c.Repos = 3 * scale
	c.CommitEvery = 50 * time.Minute / time.Duration(scale)
	c.PushEvery = 2 * time.Hour
	return c
}

// scales are the loads the model benchmarks run, as multiples of the unit.
var scales = []int{1, 10, 100}

// weeks caches each scale's workload, so that drawing it stays out of the
// timed loops.
var weeks = map[int]Workload{}

func weekAt(scale int) Workload {
	w, ok := weeks[scale]
	if !ok {
		w = busyWeek(scale).Generate(1, week)
		weeks[scale] = w
	}
	return w
}

func weekParams(design string) Params {
	return Params{Scenario: "busy-week", Design: design, Seed: 1, Duration: week}
}

// BenchmarkWeek runs a week of CI load under each design at each scale:
// one op is one whole run, arrivals and drain. It reports the simulated
// events per second of wall time, and the events and solves of a run.
func BenchmarkWeek(b *testing.B) {
	for _, scale := range scales {
		for _, d := range Designs() {
			name := fmt.Sprintf("scale=%dx/design=%s", scale, d.Name)
			b.Run(name, func(b *testing.B) { benchWeek(b, scale, d.Name) })
		}
	}
}

func benchWeek(b *testing.B, scale int, design string) {
	w := weekAt(scale)
	b.ReportAllocs()
	var events uint64
	for b.Loop() {
		rep, err := Execute(weekParams(design), w)
		if err != nil {
			b.Fatalf("Execute(%s, %d solves): %v", design, w.Solves(), err)
		}
		events += rep.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
	b.ReportMetric(float64(w.Solves()), "solves/run")
}

// heapAfterGC is the live heap once the collector has run.
func heapAfterGC() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkLeakRetained measures what each leaked job keeps on the heap in
// a busy week under the module-level design, two ways:
//
//   - B/leaked-job: what a run's Report keeps once the run is over (its
//     snapshot and verdict list every open job);
//   - B/leaked-job-live: what the simulated process itself holds while it
//     is alive, the jobs table, the switch's hook stack and all that the
//     leaked jobs' hooks reach, as ocaml-ci's process would.
//
// Each op is one run of each kind; the timings are not the point.
func BenchmarkLeakRetained(b *testing.B) {
	w := weekAt(100)
	var report, live int64
	leaked := 0
	for b.Loop() {
		bytes, n := keptByReport(b, w)
		report += bytes
		leaked = n
		live += keptByProcess(b, w)
	}
	if leaked == 0 {
		b.Fatal("the module-level design leaked no job")
	}
	per := func(total int64) float64 { return float64(total) / float64(b.N) / float64(leaked) }
	b.ReportMetric(per(report), "B/leaked-job")
	b.ReportMetric(per(live), "B/leaked-job-live")
	b.ReportMetric(float64(leaked), "leaked-jobs")
}

// keptByReport runs w under the module-level design and returns how much
// the live heap grew while the run's report is kept, and how many jobs
// the run left open.
func keptByReport(b *testing.B, w Workload) (int64, int) {
	b.Helper()
	before := heapAfterGC()
	rep, err := Execute(weekParams("module"), w)
	if err != nil {
		b.Fatal(err)
	}
	after := heapAfterGC()
	runtime.KeepAlive(rep)
	return after - before, len(rep.Snapshot.Jobs)
}

// keptByProcess runs w under the module-level design as Execute does,
// arrivals then drain, and returns how much the live heap grew while the
// simulated system is kept.
func keptByProcess(b *testing.B, w Workload) int64 {
	b.Helper()
	p := weekParams("module")
	before := heapAfterGC()
	s := sim.New(sim.Config{Seed: p.Seed})
	sys, err := NewSystem(s, p.Design)
	if err != nil {
		b.Fatal(err)
	}
	var rep Report
	sys.start(w, &rep)
	out := s.Run(sim.Budget{Until: p.Duration + DefaultDrain, MaxEvents: DefaultMaxEvents})
	if out.Reason != sim.Idle {
		b.Fatalf("live run ended %v: %v", out.Reason, out.Err)
	}
	if open := sys.Proc.Gauge(); open != w.Solves() {
		b.Fatalf("live run: %d jobs open, want the %d solver-jobs", open, w.Solves())
	}
	after := heapAfterGC()
	runtime.KeepAlive(sys)
	return after - before
}

// BenchmarkPropertyCases runs what the rapid properties run, case after
// case: draw a small workload (1 to 10 analyses of 1 to 3 solves) and
// execute it under a design. It reports the cases per second.
func BenchmarkPropertyCases(b *testing.B) {
	gen := rapid.Custom(smallWorkload)
	for _, d := range Designs() {
		b.Run("design="+d.Name, func(b *testing.B) {
			p := Params{Scenario: "property", Design: d.Name, Seed: 1, Duration: 6 * time.Hour}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := Execute(p, gen.Example(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
		})
	}
}
