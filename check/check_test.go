package check

import (
	"slices"
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

func TestClassify(t *testing.T) {
	const waiting = "2026-06-02 15:02.13: Waiting for resource in pool analyse"
	const (
		ownWork = "its own work (solves)"
		worker  = "a worker: the remote job's result and log"
		over    = "nothing: its work is over and its switch is never turned off"
		stuck   = "nothing: its switch is stuck turning off"
	)
	analysis := func(id string, st model.JobState, log ...string) model.JobView {
		return model.JobView{ID: id, Label: "analysis", State: st, Switch: "analysis", Log: log}
	}
	solver := func(id, owner string, sw model.SwitchState) model.JobView {
		return model.JobView{ID: id, Label: "solver-job", State: model.Running, Owner: owner,
			Switch: "solver-remote", SwitchState: sw}
	}
	snap := model.Snapshot{Jobs: []model.JobView{
		analysis("a1", model.Running),
		analysis("r1", model.Ready, waiting),
		analysis("r2", model.Ready),
		solver("s1", "a1", model.On),         // its analysis is still open
		solver("s2", "a0", model.On),         // its analysis closed
		solver("t1", "a1", model.TurningOff), // its switch is wedged
	}}
	want := []Finding{
		{Job: "a1", Label: "analysis", State: "running",
			Class: Hung, WaitsOn: ownWork, Cause: "a1 for "},
		{Job: "r1", Label: "analysis", State: "ready",
			Class: Hung, WaitsOn: "pool analyse", Cause: "r1 for "},
		{Job: "r2", Label: "analysis", State: "ready",
			Class: Hung, WaitsOn: "its start", Cause: "r2 for "},
		{Job: "s1", Label: "solver-job", State: "running",
			Class: Hung, WaitsOn: worker, Cause: "s1 for a1"},
		{Job: "s2", Label: "solver-job", State: "running",
			Class: Leaked, WaitsOn: over, Cause: "s2 for a0"},
		{Job: "t1", Label: "solver-job", State: "running",
			Class: Leaked, WaitsOn: stuck, Cause: "t1 for a1"},
	}
	cause := func(job, owner string) string { return job + " for " + owner }
	assert.Equal(t, want, Classify(snap, cause), "Classify(snapshot, cause)")

	// Jobs listed out of id order are judged the same.
	unsorted := model.Snapshot{Jobs: slices.Clone(snap.Jobs)}
	slices.Reverse(unsorted.Jobs)
	got := Classify(unsorted, cause)
	slices.Reverse(got)
	assert.Equal(t, want, got, "Classify(snapshot out of order, cause), reversed")

	for i := range want {
		want[i].Cause = ""
	}
	assert.Equal(t, want, Classify(snap, nil), "Classify(snapshot, nil)")
	assert.Nil(t, Classify(model.Snapshot{}, nil), "Classify(empty snapshot, nil)")
}
