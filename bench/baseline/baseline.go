// Package baseline is the workload that jobsim's kernel is measured
// against the two ways Go programs usually simulate time, and the three
// implementations of it:
//
//   - Jobsim: the kernel's event loop and promises, one goroutine in all;
//   - Start with a *clock.Mock, driven by RunMock: a goroutine per process
//     on github.com/benbjohnson/clock's mock clock, advanced by a driver;
//   - Start with Std inside a testing/synctest bubble: the same goroutine
//     code on the time package, whose clock the bubble fakes.
//
// The workload is N processes sharing a pool: each waits for its arrival,
// takes a slot (first come, first served), holds it for a while and gives
// it back. Every implementation returns when each process has finished,
// with the instant it finished at, so that a benchmark can check that all
// three ran the same thing.
//
//	w := baseline.NewWorkload(1, 100, 10)
//	want := baseline.Jobsim(w)
//	got := baseline.RunMock(w)
//	fmt.Println(got.Equal(want)) // true, unless a goroutine reacted late
package baseline

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/jobsim/jobsim/sim"
)

// Process is one process of a workload: it waits Arrive from the start,
// then takes a slot of the pool, holds it for Hold, and gives it back.
type Process struct {
	Arrive time.Duration
	Hold   time.Duration
}

// Workload is processes sharing a pool of Slots slots.
type Workload struct {
	Slots int
	Procs []Process
}

// Arrival spacing: process i arrives in [i·ArrivalGap, (i+1)·ArrivalGap),
// so no two arrive at the same instant and the order of the pool's queue
// does not depend on how a scheduler breaks ties.
const ArrivalGap = time.Second

// NewWorkload draws n processes sharing slots slots from seed: arrivals
// one ArrivalGap apart with a jitter to the millisecond, holds of 1 to 60
// seconds to the millisecond.
func NewWorkload(seed uint64, n, slots int) Workload {
	r := sim.NewStream(seed, "baseline")
	procs := make([]Process, n)
	for i := range procs {
		jitter := r.Between(0, ArrivalGap-time.Millisecond).Truncate(time.Millisecond)
		procs[i] = Process{
			Arrive: time.Duration(i)*ArrivalGap + jitter,
			Hold:   r.Between(time.Second, time.Minute).Truncate(time.Millisecond),
		}
	}
	return Workload{Slots: slots, Procs: procs}
}

// Result is when each process finished, as time elapsed since the start,
// in the order of Workload.Procs.
type Result []time.Duration

// Equal reports whether r and o have the same finishing times.
func (r Result) Equal(o Result) bool { return slices.Equal(r, o) }

// Makespan is when the last process finished.
func (r Result) Makespan() time.Duration {
	if len(r) == 0 {
		return 0
	}
	return slices.Max(r)
}

// Events is how many waits the workload's processes make in all: the
// arrival, the slot and the hold of each. It is the unit that the
// implementations' rates are given in.
func (w Workload) Events() int { return 3 * len(w.Procs) }

// Jobsim runs w on jobsim's kernel: each process is a chain of promises,
// the pool a FIFO of resolvers.
func Jobsim(w Workload) Result {
	s := sim.New(sim.Config{Seed: 1})
	pool := &semaphore{free: w.Slots}
	res := make(Result, len(w.Procs))
	for i, p := range w.Procs {
		hold := func(sim.Unit) *sim.Promise[sim.Unit] {
			return sim.Map(s.Sleep(p.Hold), func(sim.Unit) sim.Unit {
				res[i] = s.Elapsed()
				pool.release()
				return sim.Unit{}
			})
		}
		sim.Bind(s.Sleep(p.Arrive), func(sim.Unit) *sim.Promise[sim.Unit] {
			return sim.Bind(pool.acquire(), hold)
		})
	}
	s.Run(sim.Budget{})
	return res
}

// JobsimEvents runs w on jobsim's kernel written with its event API
// rather than promises: each process is three callbacks scheduled with
// At and After, the pool a FIFO of callbacks. It is the style the model
// uses on its hottest paths, where a chain of promises costs too much.
func JobsimEvents(w Workload) Result {
	s := sim.New(sim.Config{Seed: 1})
	pool := &callbackPool{free: w.Slots}
	res := make(Result, len(w.Procs))
	for i, p := range w.Procs {
		s.At(p.Arrive, func() {
			pool.acquire(func() {
				s.After(p.Hold, func() {
					res[i] = s.Elapsed()
					pool.release()
				})
			})
		})
	}
	s.Run(sim.Budget{})
	return res
}

// callbackPool is a pool of slots for callbacks: a count and a FIFO of
// the callbacks waiting for one, waiting[head:].
type callbackPool struct {
	free    int
	waiting []func()
	head    int
}

// acquire calls got once a slot is the caller's: now, or when one is
// released.
func (p *callbackPool) acquire(got func()) {
	if p.free > 0 {
		p.free--
		got()
		return
	}
	p.waiting = append(p.waiting, got)
}

func (p *callbackPool) release() {
	if p.head == len(p.waiting) {
		p.free++
		return
	}
	got := p.waiting[p.head]
	p.waiting[p.head] = nil
	p.head++
	if p.head == len(p.waiting) {
		p.waiting, p.head = p.waiting[:0], 0
	}
	got()
}

// semaphore is a pool of slots for the kernel: a count and a FIFO of the
// requests waiting for one, waiters[head:], whose array is reused once it
// empties.
type semaphore struct {
	free    int
	waiters []sim.Resolver[sim.Unit]
	head    int
}

func (sem *semaphore) acquire() *sim.Promise[sim.Unit] {
	if sem.free > 0 {
		sem.free--
		return sim.Done()
	}
	p, r := sim.Wait[sim.Unit]()
	sem.waiters = append(sem.waiters, r)
	return p
}

func (sem *semaphore) release() {
	if sem.head == len(sem.waiters) {
		sem.free++
		return
	}
	r := sem.waiters[sem.head]
	sem.waiters[sem.head] = sim.Resolver[sim.Unit]{}
	sem.head++
	if sem.head == len(sem.waiters) {
		sem.waiters, sem.head = sem.waiters[:0], 0
	}
	r.Resolve(sim.Unit{})
}

// Clock is what the goroutine code needs of a clock. *clock.Mock has it,
// and so has Std.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// Std is the time package's clock. Inside a synctest bubble it is the
// bubble's fake clock.
type Std struct{}

// Now is time.Now.
func (Std) Now() time.Time { return time.Now() }

// Sleep is time.Sleep.
func (Std) Sleep(d time.Duration) { time.Sleep(d) }

// Run is a workload started by Start.
type Run struct {
	// Done is closed once every process has finished.
	Done <-chan struct{}
	// Result is complete once Done is closed.
	Result Result

	sleeping atomic.Int64 // processes about to sleep until their arrival
}

// Start runs w with one goroutine per process, timed by clk, and returns
// at once. The pool is a buffered channel: a process takes a slot by
// sending to it and gives it back by receiving; blocked senders are woken
// first come, first served.
func Start(clk Clock, w Workload) *Run {
	done := make(chan struct{})
	run := &Run{Done: done, Result: make(Result, len(w.Procs))}
	pool := make(chan struct{}, w.Slots)
	start := clk.Now()

	var wg sync.WaitGroup
	for i, p := range w.Procs {
		wg.Go(func() {
			run.sleeping.Add(1)
			clk.Sleep(p.Arrive)
			pool <- struct{}{}
			clk.Sleep(p.Hold)
			run.Result[i] = clk.Now().Sub(start)
			<-pool
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return run
}

// RunMock runs w on a clock.Mock, as tests that use it usually do: start
// the goroutines, wait until each is about to sleep, then let the mock
// fire every timer in order, again and again until every process has
// finished.
//
// The mock cannot know when a woken goroutine has reacted: after each
// timer it fires, and after each call that moves it, it sleeps a
// millisecond of real time and hopes. A goroutine that takes longer
// registers its next timer late, and its process then finishes later in
// virtual time than it should; callers compare the Result with Jobsim's.
func RunMock(w Workload) Result {
	m := clock.NewMock()
	run := Start(m, w)
	for run.sleeping.Load() < int64(len(w.Procs)) {
		runtime.Gosched()
	}
	m.Add(0) // the mock's own pause: let them reach their timers

	for {
		m.WaitForAllTimers()
		select {
		case <-run.Done:
			return run.Result
		default:
			m.Add(0) // a process is between timers: let it go on
		}
	}
}
