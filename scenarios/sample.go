package scenarios

import (
	"time"

	"github.com/jobsim/jobsim/model"
)

// Sample is the process's levels at one instant of virtual time: the
// counters a plot over time needs, without the cost of a Snapshot.
type Sample struct {
	At       time.Duration // virtual time since the run began
	OpenJobs int           // jobs in the table
	Gauge    int           // the ocurrent_core_active_jobs gauge
	FDs      int           // descriptors in use, the base ones included
	LogFDs   int           // log files open
	Sockets  int           // viewer sockets open
	Hooks    int           // hooks on every switch's stack
}

// sampler records a Sample at every multiple of every. It runs after
// each event and schedules none, so the run's events, results and event
// count are the same with it as without it.
type sampler struct {
	sys   *System
	every time.Duration
	next  time.Duration // the next instant to sample
	last  Sample        // the levels after the last event seen
	out   []Sample
}

// sample starts a sampler on sys.
func (sys *System) sample(every time.Duration) *sampler {
	sm := &sampler{sys: sys, every: every}
	sm.last = sm.levels()
	sys.afterEvent(sm.afterEvent)
	return sm
}

// levels reads the current process's levels.
func (sm *sampler) levels() Sample {
	p := sm.sys.Proc
	return Sample{
		At: p.Sim.Elapsed(), OpenJobs: p.OpenCount(), Gauge: p.Gauge(),
		FDs: p.FDs.InUse(), LogFDs: p.FDs.OpenOf(model.FDLog), Sockets: p.FDs.OpenOf(model.FDSocket),
		Hooks: p.Hooks(),
	}
}

// afterEvent records, for each sample instant the event has moved past,
// the levels after the last event at or before it; events at the same
// instant all count before that instant's sample.
func (sm *sampler) afterEvent() {
	now := sm.sys.Proc.Sim.Elapsed()
	sm.flush(now)
	sm.last = sm.levels()
}

// flush records the samples due strictly before now.
func (sm *sampler) flush(now time.Duration) {
	for sm.next < now {
		s := sm.last
		s.At = sm.next
		sm.out = append(sm.out, s)
		sm.next += sm.every
	}
}

// finish records the samples up to the end of the run, included, and
// returns them all.
func (sm *sampler) finish() []Sample {
	end := sm.sys.Proc.Sim.Elapsed()
	sm.last = sm.levels()
	sm.flush(end + 1)
	return sm.out
}
