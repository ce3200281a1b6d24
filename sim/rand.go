package sim

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Stream is a random stream drawn for one purpose. Every stream of a Sim is
// derived from the Sim's seed and the purpose's name alone, so drawing more
// from one purpose never shifts the draws of another: two designs run on the
// same seed see the same arrivals even if one of them draws more job ids.
type Stream struct {
	*rand.Rand
}

// Stream returns the random stream for purpose, creating it on first use.
// Purposes in use by jobsim: "arrivals/commits", "arrivals/pushes",
// "durations/commits", "durations/pushes", "job-ids" and "faults".
func (s *Sim) Stream(purpose string) *Stream {
	if r, ok := s.streams[purpose]; ok {
		return r
	}
	r := NewStream(s.seed, purpose)
	s.streams[purpose] = r
	return r
}

// NewStream returns the stream that a Sim with the given seed hands out for
// purpose. It lets code outside a run (a workload generator, say) draw
// exactly what a run would.
func NewStream(seed uint64, purpose string) *Stream {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	return &Stream{rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// Exp draws an exponentially distributed duration with the given mean: the
// gap between arrivals of a Poisson process.
func (r *Stream) Exp(mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// Between draws a duration uniformly from [lo, hi].
func (r *Stream) Between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}
