// Package sim is jobsim's kernel: a single-threaded discrete-event
// simulator with virtual time, seeded random streams, and promises with the
// semantics of OCaml's Lwt.
//
// # Time and order
//
// Virtual time starts at an epoch (DefaultEpoch unless configured) and only
// moves when the next event is taken from the queue. Events at the same
// instant run in the order they were scheduled. Nothing reads the wall
// clock, starts a goroutine or iterates a map, so a run is a pure function
// of its seed and inputs: the same seed gives the same run on any machine
// and with any GOMAXPROCS.
//
// # Randomness
//
// Each purpose (arrivals, durations, job ids, faults) draws from its own
// Stream, derived from the seed and the purpose's name alone. Drawing more
// for one purpose never shifts another's draws.
//
// # Promises
//
// Promise, Bind, Map, Catch, TryBind, Finalize, Wait, Task, Pause, Sleep
// and Async follow Lwt, so that model code reads like the OCaml it models.
// A callback runs to completion; resolving a promise runs its callbacks at
// once; cancelling is forwarded to what a promise waits on. MapErr is a
// Map whose function may fail.
//
// # Events or promises
//
// At and After schedule a callback and, once the queue has grown,
// allocate nothing of their own (a closure that captures variables is
// the caller's allocation); each Sleep, and each Bind or Map on a pending
// promise, allocates one object. Code on a hot path that needs no promise (no
// cancellation, no Finalize, nobody else waiting on it) can wait with
// At and After, and resolve a promise only where one is expected; it runs
// at the same instants and in the same order as the chain of promises it
// replaces.
//
// # Budgets
//
// Run stops when no event is left, when virtual time would pass
// Budget.Until, or when Budget.MaxEvents events have run; the Outcome says
// which, so a run that would go on for ever is reported, never hung.
// AfterEvent hooks a checker in between events, where it sees no callback
// half done.
//
// A short example:
//
//	s := sim.New(sim.Config{Seed: 1})
//	p := sim.Bind(s.Sleep(time.Minute), func(sim.Unit) *sim.Promise[string] {
//		return sim.Return("woke at " + s.Now().Format("15:04:05"))
//	})
//	s.Run(sim.Budget{})
//	v, _ := p.Result() // "woke at 15:03:13"
package sim
