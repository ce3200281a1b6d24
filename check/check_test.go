package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
)

func TestInvariant(t *testing.T) {
	leaked := model.JobView{
		ID: "2026-06-02/150213-solver-job-426cf4", Label: "solver-job", State: model.Running,
		LogOpen: true, Switch: "solver-remote", SwitchState: model.On, Hooks: 1,
		Log: []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
			"2026-06-02 15:02.13: Got resource from pool OCluster",
		},
	}
	cases := []struct {
		name  string
		snap  model.Snapshot
		holds bool
		want  []string // the violations' text
	}{
		{"empty", model.Snapshot{}, true, nil},
		{"all closed", model.Snapshot{Created: 3, Closed: 3}, true, nil},
		{"one job left open", model.Snapshot{Created: 2, Closed: 1, Gauge: 1, Jobs: []model.JobView{leaked}}, false, []string{
			`2026-06-02/150213-solver-job-426cf4: running, never closed: held by switch "solver-remote" (on, 1 hooks), log open`,
		}},
		{"counts disagree with the table", model.Snapshot{Created: 3, Closed: 2, Gauge: 1}, false, []string{
			"process: 3 jobs created and 2 closed, but the table holds 0",
			"process: active-jobs gauge is 1, but the table holds 0",
		}},
		{"resources not given back", model.Snapshot{
			Handles: 1, FDs: model.FDView{Sockets: 2},
			Pools: []model.PoolView{{Label: "analyse", Capacity: 400, InUse: 1, Leaked: 1}},
		}, false, []string{
			"process: 1 capability handles never released",
			"process: 2 viewer sockets still open",
			`process: 1 slots of pool "analyse" held with no release hook: never freed`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Invariant(c.snap)
			assert.Equal(t, c.holds, v.Holds, "Invariant(%s).Holds", c.name)
			var got []string
			for _, viol := range v.Violations {
				got = append(got, viol.String())
			}
			assert.Equal(t, c.want, got)
		})
	}

	t.Run("violation names state, last line and switch", func(t *testing.T) {
		v := Invariant(model.Snapshot{Created: 1, Gauge: 1, Jobs: []model.JobView{leaked}})
		require.Len(t, v.Violations, 1)
		got := v.Violations[0]
		assert.Equal(t, "running", got.State)
		assert.Equal(t, "solver-remote", got.Switch)
		assert.Equal(t, "2026-06-02 15:02.13: Got resource from pool OCluster", got.LastLine)
	})
}
