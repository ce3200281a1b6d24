package scenarios

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
	"github.com/jobsim/jobsim/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with the golden file name, or rewrites the file
// when the test runs with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./scenarios -update")
	assert.Equal(t, string(want), got, "output differs from %s; if the change is intended, run go test ./scenarios -update", path)
}

// TestCI_HealthySolveTimeline runs one analysis with one solve under each
// remote design and shows both jobs' logs, as the timeline of a healthy
// solve in docs/RULES.md lays them out.
func TestCI_HealthySolveTimeline(t *testing.T) {
	var b strings.Builder
	for _, design := range []string{"module", "per-call"} {
		s := sim.New(sim.Config{Seed: 1})
		sys, err := NewSystem(s, design)
		require.NoError(t, err)
		var jobs []*model.Job
		sys.Proc.OnPass = func(ps model.Pass) {
			if ps.Site == model.SiteReadyToRun {
				jobs = append(jobs, ps.Job)
			}
		}
		run := sys.Backend.Start(ocamlci.Analysis{
			Repo: "ocurrent/ocaml-ci", Commit: "0fe2cb1",
			Solves: ocamlci.Solves(1, []time.Duration{30 * time.Second}, 12),
		})
		out := s.Run(sim.Budget{MaxEvents: 10_000})
		require.Equal(t, sim.Idle, out.Reason)
		res, err := run.Result.Result()
		require.NoError(t, err)
		require.NoError(t, res.Err)

		fmt.Fprintf(&b, "design %s\n", design)
		for _, j := range jobs {
			where := "closed, gone from /jobs"
			if j.State() != model.Closed {
				where = j.State().String() + ", still on /jobs"
			}
			fmt.Fprintf(&b, "  %s (%s)\n", j.ID(), where)
			for _, line := range j.Log() {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
		require.Len(t, jobs, 2, "one analysis job and one solver-job")
		assert.Equal(t, "solver-job", jobs[1].Label())
		assert.Equal(t, jobs[0], jobs[1].Owner(), "the solver-job works for the analysis")
	}
	golden(t, "timeline-healthy-solve.txt", b.String())
}
