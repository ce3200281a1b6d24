package sim_test

import (
	"testing"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// benchInFlight is how many events, or promise chains, each benchmark
// keeps in the queue at once.
const benchInFlight = 1000

// delayTable returns n small pseudo-random delays, n a power of two, drawn
// once so that the benchmarks measure the kernel, not the random stream.
func delayTable(tb testing.TB, n int) []time.Duration {
	tb.Helper()
	if n&(n-1) != 0 {
		tb.Fatalf("delayTable(%d): n must be a power of two", n)
	}
	r := sim.NewStream(1, "bench-delays")
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = r.Between(time.Millisecond, time.Second)
	}
	return out
}

// runEvents runs b.N events of s, timing only the run, and reports the
// rate in events per second.
func runEvents(b *testing.B, s *sim.Sim) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	out := s.Run(sim.Budget{MaxEvents: uint64(b.N)})
	b.StopTimer()

	if out.Events != uint64(b.N) {
		b.Fatalf("Run(MaxEvents %d) = {%v, %d events, %v}, want %d events",
			b.N, out.Reason, out.Events, out.Err, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTimerEvents measures the bare event loop: benchInFlight events
// that each reschedule themselves after a small delay. The callback is
// built once, so steady state should allocate nothing per event.
func BenchmarkTimerEvents(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	delays := delayTable(b, 1024)
	mask := len(delays) - 1

	i := 0
	var tick func()
	tick = func() {
		i++
		s.After(delays[i&mask], tick)
	}
	for range benchInFlight {
		tick()
	}
	runEvents(b, s)
}

// BenchmarkPromiseChain measures promise code over the event loop:
// benchInFlight chains, each a Finalize around two Binds over Sleep, each
// started again from an On callback when it ends. An op is one event, and
// each chain takes two.
func BenchmarkPromiseChain(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	delays := delayTable(b, 1024)
	mask := len(delays) - 1

	i := 0
	sleep := func() *sim.Promise[sim.Unit] {
		i++
		return s.Sleep(delays[i&mask])
	}
	secondStep := func(sim.Unit) *sim.Promise[int] {
		return sim.Map(sleep(), func(sim.Unit) int { return i })
	}
	body := func() *sim.Promise[int] { return sim.Bind(sleep(), secondStep) }
	cleanup := func() *sim.Promise[sim.Unit] { return sim.Done() }

	var start func()
	restart := func(int, error) { start() }
	start = func() {
		sim.On(sim.Finalize(body, cleanup), restart)
	}
	for range benchInFlight {
		start()
	}
	runEvents(b, s)
}
