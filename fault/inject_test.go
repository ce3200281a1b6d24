package fault

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// A pass that fails at Inject is still a pass for every other fault of
// the plan: the faults after it count it, so that the explicit plan the
// trace gives replays the run.
func TestInjectorCountsPassesThatFail(t *testing.T) {
	plan, err := Parse(`scheduler-error@ticket; cancel-analysis@ticket:2`)
	require.NoError(t, err)
	s := sim.New(sim.Config{Seed: 1})
	p := model.NewProcess(s)
	job, err := p.NewJob(p.NewSwitch("analyse"), "ci-analyse", nil, model.Low)
	require.NoError(t, err)

	in := New(s, plan, nil)
	in.hook(p)
	for range 2 {
		if p.Inject(model.SiteTicket, "solve main") == nil {
			p.OnPass(model.Pass{Site: model.SiteTicket, Detail: "solve main", Job: job})
		}
	}

	var fired []string
	for _, fr := range in.Trace() {
		fired = append(fired, fr.Fault.String())
	}
	assert.Equal(t, []string{"scheduler-error@ticket", "cancel-analysis@ticket:2"}, fired)
	assert.Equal(t, Plan{
		{Kind: "scheduler-error", Site: "ticket", Nth: 1, Times: 1},
		{Kind: "cancel-analysis", Site: "ticket", Nth: 2, Times: 1},
	}, in.Explicit())
}

// A fault due after the fault phase is never scheduled: it leaves no
// event behind.
func TestInjectorUntil(t *testing.T) {
	plan, err := Parse(`worker-lost@1h; worker-lost@10h`)
	require.NoError(t, err)
	s := sim.New(sim.Config{Seed: 1})
	in := New(s, plan, nil)
	in.Until = 6 * time.Hour
	p := model.NewProcess(s)
	sched := p.NewScheduler()
	sched.Pool("solver").AddWorker("solver-1", 1)
	in.Attach(Target{Proc: p, Sched: sched, Conn: p.NewConnection(sched), Pool: "solver"})
	assert.Equal(t, 1, s.Pending(), "only the fault at 1h is scheduled")
}
