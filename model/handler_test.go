package model

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobsim/jobsim/sim"
)

// WithHandler is Job.with_handler: a cancel hook registered for the time
// fn runs (JB13).
func TestJB13_WithHandler(t *testing.T) {
	t.Run("JB13_with_handler_runs_on_cancel_while_fn_runs", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		tr := &cancelTrace{s: p.Sim}
		j.OnCancel(tr.hook("before", sim.Done))

		res := WithHandler(j, tr.hook("handler", sim.Done), func() *sim.Promise[string] {
			return sim.Map(p.Sim.Sleep(time.Minute), func(sim.Unit) string { return "solved" })
		})
		p.Sim.At(10*time.Second, func() { j.Cancel("Cancelled by user") })
		runIdle(t, p)

		assert.Equal(t, "solved", requireFulfilled(t, res), "fn is not stopped")
		assert.Equal(t, []string{
			"before(Cancelled by user)@10s",
			"handler(Cancelled by user)@10s",
		}, tr.runs)
	})

	t.Run("JB13_with_handler_removes_the_hook_once_fn_ends", func(t *testing.T) {
		tests := []struct {
			name string
			fn   func(s *sim.Sim) *sim.Promise[string]
		}{
			{"fulfilled", func(s *sim.Sim) *sim.Promise[string] {
				return sim.Map(s.Sleep(time.Minute), func(sim.Unit) string { return "solved" })
			}},
			{"rejected", func(s *sim.Sim) *sim.Promise[string] {
				return sim.Bind(s.Sleep(time.Minute), func(sim.Unit) *sim.Promise[string] {
					return sim.Fail[string](errors.New("no solution"))
				})
			}},
			{"at_once", func(*sim.Sim) *sim.Promise[string] { return sim.Return("cached") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, end := range []string{"cancel", "switch_off"} {
					t.Run(end, func(t *testing.T) {
						p := newTestProcess(t)
						sw := p.NewSwitch("analyse")
						j := newJob(t, p, sw, "ci-analyse", Low)
						tr := &cancelTrace{s: p.Sim}
						j.OnCancel(tr.hook("before", sim.Done))
						WithHandler(j, tr.hook("handler", sim.Done),
							func() *sim.Promise[string] { return tt.fn(p.Sim) })
						j.OnCancel(tr.hook("after", sim.Done))

						p.Sim.At(time.Hour, func() {
							if end == "cancel" {
								j.Cancel("Cancelled by user")
							} else {
								sw.TurnOff()
							}
						})
						runIdle(t, p)

						reason, _ := j.Cancelled()
						assert.Equal(t, []string{
							"before(" + reason + ")@1h0m0s",
							"after(" + reason + ")@1h0m0s",
						}, tr.runs)
					})
				}
			})
		}
	})

	t.Run("JB13_with_handler_on_cancelled_job_runs_handler_first", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)
		j.Cancel("Cancelled by user")
		tr := &cancelTrace{s: p.Sim}
		var fnAt time.Duration = -1

		res := WithHandler(j, tr.hook("handler", sleepFor(p.Sim, time.Second)),
			func() *sim.Promise[string] {
				fnAt = p.Sim.Elapsed()
				return sim.Return("ran")
			})
		runIdle(t, p)

		assert.Equal(t, "ran", requireFulfilled(t, res))
		assert.Equal(t, []string{"handler(Cancelled by user)@0s"}, tr.runs)
		assert.Equal(t, time.Second, fnAt, "fn ran once the handler's promise resolved")
	})
}
