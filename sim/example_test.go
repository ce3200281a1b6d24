package sim_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// A promise that sleeps for a minute of virtual time, then reads the clock.
func ExampleBind() {
	s := sim.New(sim.Config{Seed: 1})
	p := sim.Bind(s.Sleep(time.Minute), func(sim.Unit) *sim.Promise[string] {
		return sim.Return("woke at " + s.Now().Format("15:04:05"))
	})

	out := s.Run(sim.Budget{})
	v, err := p.Result()
	fmt.Println(v, err)
	fmt.Println(out.Reason, out.Events, s.Elapsed())
	// Output:
	// woke at 15:03:13 <nil>
	// idle 1 1m0s
}

// A job that fails after ten seconds still releases its lock, and its
// error is passed on once the cleanup is done.
func ExampleFinalize() {
	s := sim.New(sim.Config{Seed: 1})
	log := func(msg string) { fmt.Printf("%v %s\n", s.Elapsed(), msg) }

	job := sim.Finalize(func() *sim.Promise[sim.Unit] {
		log("lock taken, job starts")
		return sim.Bind(s.Sleep(10*time.Second), func(sim.Unit) *sim.Promise[sim.Unit] {
			return sim.Fail[sim.Unit](errors.New("solver crashed"))
		})
	}, func() *sim.Promise[sim.Unit] {
		log("lock released")
		return sim.Done()
	})
	sim.On(job, func(_ sim.Unit, err error) { log("job ended: " + err.Error()) })

	s.Run(sim.Budget{})
	// Output:
	// 0s lock taken, job starts
	// 10s lock released
	// 10s job ended: solver crashed
}
