package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
)

// A case written and read back gives the same run: the parameters, the
// workload it carries, the report.
func TestCaseRoundTrip(t *testing.T) {
	plan, err := fault.Parse(`emfile@job-log:"Got resource"; worker-lost@20m`)
	require.NoError(t, err)
	p := Params{Scenario: "property", Design: "per-call", Seed: 3, Duration: 2 * time.Hour,
		Drain: 6 * time.Hour, Faults: plan, LogMode: model.Held, Checks: ledger.All.Without(ledger.Hooks)}
	w := solves(3)(0, 0)
	w[1].Analysis.Solves[0].Kind = "lint"

	var b strings.Builder
	require.NoError(t, WriteCase(&b, NewCase(p, w)))
	c, err := ReadCase(strings.NewReader(b.String()))
	require.NoError(t, err)
	got, work, err := c.Params()
	require.NoError(t, err)
	assert.Equal(t, p, got, "parameters read back from\n%s", b.String())
	assert.Equal(t, w, work, "workload read back")

	want, err := Execute(p, w)
	require.NoError(t, err)
	again, err := RunCase(c)
	require.NoError(t, err)
	assert.Equal(t, want, again, "the case's run")
}

// A case of a named scenario carries no workload: the scenario draws it.
func TestCaseOfAScenario(t *testing.T) {
	p := Params{Scenario: "leak", Design: "module", Seed: 7, Duration: 6 * time.Hour}
	c := NewCase(p, nil)
	assert.Nil(t, c.Workload)
	assert.Equal(t, "24h", c.Drain, "the default drain is written out")

	want, err := Run(p)
	require.NoError(t, err)
	again, err := RunCase(c)
	require.NoError(t, err)
	again.Params.Drain, want.Params.Drain = 0, 0
	assert.Equal(t, want, again)

	c.Scenario = "nope"
	_, _, err = c.Params()
	assert.ErrorContains(t, err, `unknown scenario "nope"`)
}
