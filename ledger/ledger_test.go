package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
	"github.com/jobsim/jobsim/sim"
)

// run runs a scenario with every check of the ledger.
func run(t *testing.T, scenario, design string, mode model.LogMode) *scenarios.Report {
	t.Helper()
	rep, err := scenarios.Run(scenarios.Params{Scenario: scenario, Design: design, Seed: 1,
		LogMode: mode, Checks: ledger.All})
	require.NoError(t, err)
	return rep
}

// Healthy runs keep every check, after every event and at the end, in
// both log modes.
func TestLedgerHealthyRunsHold(t *testing.T) {
	for _, design := range []string{"per-call", "local"} {
		for _, mode := range []model.LogMode{model.Transient, model.Held} {
			t.Run(design+"/"+mode.String(), func(t *testing.T) {
				rep, err := scenarios.Run(scenarios.Params{Scenario: "leak", Design: design, Seed: 1,
					Duration: 12 * time.Hour, LogMode: mode, Checks: ledger.All})
				require.NoError(t, err)
				assert.Empty(t, rep.Ledger, "simrun --design %s --duration 12h --ledger --log-mode %s", design, mode)
			})
		}
	}
}

// Each check finds the breach of its own resource, naming the resource,
// the job it was taken for and the event that took it.
func TestLedgerChecksFindTheirBreach(t *testing.T) {
	cases := []struct {
		scenario, design string
		mode             model.LogMode
		check            ledger.Check
		want             string // in the first violation of the check
	}{
		{"solver-error", "module", model.Transient, ledger.Jobs,
			`table entry, taken for job 2026-06-02/150313-solver-job-cda355 at +1m (step 1): never closed: the job is still in the table`},
		{"emfile-got-resource", "per-call", model.Transient, ledger.Handles,
			`handle to remote job solver-1/1, taken for job 2026-06-02/150313-solver-job-cda355 at +1m0.005s (step 2): held after its job closed; seen after step 2`},
		{"solver-error", "module", model.Held, ledger.LogFDs,
			`log descriptor, taken for job 2026-06-02/150313-solver-job-cda355 at +1m (step 1): never given back`},
		{"viewers", "module", model.Transient, ledger.Sockets,
			`viewer's socket, taken for job 2026-06-02/150313-solver-job-cda355 at +1m0.005s (step 2): never given back`},
		{"no-worker", "per-call", model.Transient, ledger.Tickets,
			`ticket for "solve main" waiting at the scheduler, taken for job 2026-06-02/150313-solver-job-`},
		{"no-worker", "per-call", model.Transient, ledger.Pipeline,
			`slot of the pipeline of pool "solver", taken for job 2026-06-02/150313-solver-job-`},
		{"no-worker", "per-call", model.Transient, ledger.PoolSlots,
			`slot of pool "analyse", taken for job 2026-06-02/150313-ci-analyse-`},
		{"no-worker", "per-call", model.Transient, ledger.Hooks,
			`hook "release slot of pool analyse" on switch "analyse org/repo-01", taken for job 2026-06-02/150313-ci-analyse-`},
	}
	for _, c := range cases {
		t.Run(c.check.String()+"/"+c.scenario+"/"+c.design, func(t *testing.T) {
			rep := run(t, c.scenario, c.design, c.mode)
			var got []string
			for _, v := range rep.Ledger {
				if v.Check == c.check {
					got = append(got, v.String())
				}
			}
			require.NotEmpty(t, got, "no %s violation in %v", c.check, rep.Ledger)
			assert.Contains(t, strings.Join(got, "\n"), c.check.String()+": "+c.want)
		})
	}
}

// fakeHolder is a holder whose count a test sets.
type fakeHolder struct{ n, limit int }

func (h *fakeHolder) Holds(model.ResourceKind) (int, int) { return h.n, h.limit }
func (h *fakeHolder) HolderName() string                  { return "fake pool" }

// After every event the ledger compares each count the event touched with
// its own, and sees a count that disagrees, exceeds its limit or falls
// below zero, at the event that broke it. A release of what is not held
// is a breach too.
func TestLedgerConservation(t *testing.T) {
	slot := func(h *fakeHolder, key string) model.Resource {
		return model.Resource{Kind: model.ResPoolSlot, Key: key, Holder: h}
	}
	cases := []struct {
		name  string
		event func(l *ledger.Ledger, h *fakeHolder)
		want  string
	}{
		{"agrees", func(l *ledger.Ledger, h *fakeHolder) {
			l.Acquire(slot(h, "a"), nil)
			h.n = 1
		}, ""},
		{"the model counts more", func(l *ledger.Ledger, h *fakeHolder) {
			l.Acquire(slot(h, "a"), nil)
			h.n = 2
		}, "pool-slots: fake pool: holds 2 pool slots, but the ledger counts 1 taken and not given back; seen after step 1 at +5s"},
		{"over the limit", func(l *ledger.Ledger, h *fakeHolder) {
			l.Acquire(slot(h, "a"), nil)
			l.Acquire(slot(h, "b"), nil)
			h.n, h.limit = 2, 1
		}, "pool-slots: fake pool: 2 pool slots in use, more than its 1; seen after step 1 at +5s"},
		{"below zero", func(l *ledger.Ledger, h *fakeHolder) {
			h.n = -1
			l.Acquire(slot(h, "a"), nil)
			l.Release(slot(h, "a"))
		}, "pool-slots: fake pool: count of pool slots is -1, below zero; seen after step 1 at +5s"},
		{"given back twice", func(l *ledger.Ledger, h *fakeHolder) {
			l.Acquire(slot(h, "a"), nil)
			l.Release(slot(h, "a"))
			l.Release(slot(h, "a"))
		}, "pool-slots: pool slot of fake pool: given back but not held: never taken, or given back twice; seen after step 1 at +5s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := model.NewProcess(sim.New(sim.Config{Seed: 1}))
			l := ledger.New(p, ledger.All)
			p.Sim.AfterEvent(l.AfterEvent)
			h := &fakeHolder{}
			p.Sim.At(5*time.Second, func() { c.event(l, h) })
			p.Sim.Run(sim.Budget{})

			var got []string
			for _, v := range l.Violations() {
				got = append(got, v.String())
			}
			if c.want == "" {
				assert.Empty(t, got)
				return
			}
			require.NotEmpty(t, got)
			assert.Equal(t, c.want, got[0])
		})
	}
}

// JB16 and PL5: a job whose switch is off before it asks a Local pool
// with a free slot is granted the slot, which nothing will free. The
// ledger sees the closed job holding it after the event that granted it.
func TestLedgerSlotOfAClosedJob_JB16(t *testing.T) {
	p := model.NewProcess(sim.New(sim.Config{Seed: 1}))
	l := ledger.New(p, ledger.All)
	p.Sim.AfterEvent(l.AfterEvent)
	pool := p.NewLocalPool("analyse", 2)
	sw := p.NewSwitch("early")
	job, err := p.NewJob(sw, "ci-analyse", nil, model.Low)
	require.NoError(t, err)
	p.Sim.At(time.Second, func() { sw.TurnOff() })
	p.Sim.At(2*time.Second, func() { model.StartWith(job, model.Pool[sim.Unit](pool), model.Average) })
	p.Sim.Run(sim.Budget{})
	l.Finish()

	vs := l.Violations()
	require.NotEmpty(t, vs)
	assert.Equal(t, `pool-slots: slot of pool "analyse", taken for job `+job.ID()+
		` at +2s (step 2): held after its job closed; seen after step 2 at +2s`, vs[0].String())
}

// A check that is off reports nothing, and the others go on.
func TestLedgerChecksSwitchOff(t *testing.T) {
	rep, err := scenarios.Run(scenarios.Params{Scenario: "emfile-got-resource", Design: "per-call", Seed: 1,
		Checks: ledger.All.Without(ledger.Handles)})
	require.NoError(t, err)
	assert.Empty(t, rep.Ledger, "with handles off, the F12 leak is not reported")

	rep, err = scenarios.Run(scenarios.Params{Scenario: "viewers", Design: "module", Seed: 1,
		Checks: ledger.All.Without(ledger.Jobs)})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Ledger)
	for _, v := range rep.Ledger {
		assert.Equal(t, ledger.Sockets, v.Check, "%s", v)
	}
}

func TestChecksParse(t *testing.T) {
	cs, err := ledger.ParseChecks([]string{"handles", "jobs"})
	require.NoError(t, err)
	assert.Equal(t, ledger.Of(ledger.Jobs, ledger.Handles), cs)
	assert.Equal(t, "jobs,handles", cs.String())
	assert.Equal(t, "all", ledger.All.String())
	assert.Len(t, ledger.All.List(), 8)

	_, err = ledger.ParseChecks([]string{"handle"})
	assert.EqualError(t, err, `unknown ledger check "handle" (valid: jobs, hooks, pool-slots, pipeline, tickets, handles, log-fds, sockets)`)
}
