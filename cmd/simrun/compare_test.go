package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// singleRuns holds, for one design, the JSON reports of single runs.
type singleRuns []map[string]any

func (rs singleRuns) num(path string) []float64 {
	var out []float64
	for _, r := range rs {
		var v any = r
		for _, key := range strings.Split(path, ".") {
			v = v.(map[string]any)[key]
		}
		out = append(out, v.(float64))
	}
	return out
}

func (rs singleRuns) sum(path string) float64 {
	n := 0.0
	for _, v := range rs.num(path) {
		n += v
	}
	return n
}

func (rs singleRuns) max(path string) float64 {
	n := 0.0
	for _, v := range rs.num(path) {
		n = math.Max(n, v)
	}
	return n
}

func (rs singleRuns) mean(path string) float64 { return math.Round(rs.sum(path) / float64(len(rs))) }

// Each figure of compare's table equals the figure single runs of the
// same seeds print, summed, maximised or averaged as its label says.
func TestCompareMatchesSingleRuns(t *testing.T) {
	cases := []struct {
		name string
		args []string // given to compare and to each single run
	}{
		{"leak", []string{"--scenario", "leak", "--duration", "12h"}},
		{"held logs with viewers", []string{"--scenario", "leak", "--duration", "6h", "--log-mode", "held",
			"--faults", `viewer@running:"solver-job" times 40`}},
		{"random faults", []string{"--scenario", "leak", "--duration", "6h", "--faults", "random:0.5:0.05"}},
		{"worker hang", []string{"--scenario", "worker-hang"}},
	}
	seeds := []string{"2", "3", "5"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, status := simrun(t, append([]string{"compare", "--seeds", "2-3,5", "--format", "json"}, c.args...)...)
			require.Empty(t, errOut)
			require.Equal(t, exitHolds, status, "compare exits 0 whatever the designs did")
			var cmp comparison
			require.NoError(t, json.Unmarshal([]byte(out), &cmp))
			require.Len(t, cmp.Columns, 3)

			for _, col := range cmp.Columns {
				var singles singleRuns
				failing := 0
				var first *uint64
				var replay string
				died, cleared := 0, 0
				for _, seed := range seeds {
					rep, _ := jsonRun(t, append([]string{"--design", col.Design, "--seed", seed}, c.args...)...)
					singles = append(singles, rep)
					if _, ok := rep["died"]; ok {
						died++
					}
					if f, ok := rep["faults"].(map[string]any); ok {
						cleared += int(f["cleared_by_restarts"].(float64))
					}
					if !rep["invariant"].(map[string]any)["holds"].(bool) {
						if failing == 0 {
							first = new(uint64)
							fmt.Sscan(seed, first)
							replay = rep["repro"].(string)
						}
						failing++
					}
				}
				hung := 0
				for _, r := range singles {
					for _, f := range r["findings"].([]any) {
						if f.(map[string]any)["class"] == "hung" {
							hung++
						}
					}
				}
				want := column{
					Design: col.Design, Seeds: len(seeds), Events: uint64(singles.sum("events")),
					Succeeded: int(singles.sum("analyses.succeeded")), Failed: int(singles.sum("analyses.failed")),
					Unfinished: int(singles.sum("analyses.unfinished")),
					SolverJobs: int(singles.sum("jobs.solver_jobs_created")),
					Running:    int(singles.sum("jobs.running")), Ready: int(singles.sum("jobs.ready")),
					Hung: hung, Handles: int(singles.sum("handles_held")),
					Sockets: int(singles.sum("fds.viewer_sockets")),
					LogFDs:  int(singles.max("fds.log")), LogFDsPeak: int(singles.max("fds.log_peak")),
					FDsPeak: int(singles.max("fds.peak")), FDLimit: int(singles.max("fds.limit")),
					HooksPeak: int(singles.max("peak_hooks")), Gauge: int(singles.max("active_jobs_gauge")),
					P50:  int64(singles.mean("analysis_latency.p50_ms")),
					P99:  int64(singles.mean("analysis_latency.p99_ms")),
					Died: died, Cleared: cleared,
					Failing: failing, FirstFailing: first, Replay: replay,
				}
				assert.Equal(t, want, col, "compare's column for %s, against single runs of seeds %v", col.Design, seeds)
			}
		})
	}
}

func TestGoldenCompare(t *testing.T) {
	out, errOut, status := simrun(t, "compare", "--scenario", "leak")
	assert.Equal(t, exitHolds, status)
	assert.Empty(t, errOut)
	golden(t, "compare-leak.txt", out)
}

func TestCompareMarkdown(t *testing.T) {
	out, _, status := simrun(t, "compare", "--scenario", "leak", "--seeds", "1", "--duration", "6h",
		"--designs", "module,per-call", "--format", "markdown")
	assert.Equal(t, exitHolds, status)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, "| | module | per-call |", lines[2])
	assert.Equal(t, "|---|---:|---:|", lines[3])
	assert.Contains(t, out, "| seeds where the invariant fails (sum) | 1 of 1 | 0 of 1 |")
	assert.Contains(t, out, "- module, seed 1: `simrun --scenario leak --design module --seed 1 --duration 6h`")
}

func TestParseSeeds(t *testing.T) {
	cases := []struct {
		in   string
		want []uint64
	}{
		{"1-3", []uint64{1, 2, 3}},
		{"1,2,5", []uint64{1, 2, 5}},
		{"7, 1-2", []uint64{7, 1, 2}},
		{"0", []uint64{0}},
	}
	for _, c := range cases {
		got, err := parseSeeds(c.in)
		require.NoError(t, err, "parseSeeds(%q)", c.in)
		assert.Equal(t, c.want, got, "parseSeeds(%q)", c.in)
	}
}

func TestCompareUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // in the one-line error
	}{
		{"unknown scenario", []string{"--scenario", "nope"}, `unknown scenario "nope"`},
		{"unknown design", []string{"--designs", "module,global"}, `--designs: unknown design "global" (valid: module, per-call, local)`},
		{"design twice", []string{"--designs", "module,module"}, `--designs: module given twice`},
		{"no design", []string{"--designs", ""}, `--designs needs at least one design`},
		{"reversed range", []string{"--seeds", "5-1"}, `--seeds: "5-1" is not a range of seeds like 1-10`},
		{"malformed seed", []string{"--seeds", "1,x"}, `--seeds: "x" is not a seed`},
		{"seed twice", []string{"--seeds", "1-3,2"}, `--seeds: seed 2 given twice`},
		{"too many seeds", []string{"--seeds", "1-100000"}, `--seeds: at most 1000 seeds`},
		{"plot without a name", []string{"--plot", ""}, `--plot needs a file name`},
		{"plot without an extension", []string{"--plot", "/tmp/noext"}, `the file must end in .svg or .png`},
		{"unknown format", []string{"--format", "yaml"}, `unknown format "yaml" (valid: text, json, markdown)`},
		{"unknown log mode", []string{"--log-fds", "open"}, `--log-fds: unknown log mode "open"`},
		{"both log flags", []string{"--log-fds", "held", "--log-mode", "held"}, `give --log-mode or --log-fds, not both`},
		{"malformed plan", []string{"--faults", "meteor@1h"}, `unknown fault kind "meteor"`},
		{"negative duration", []string{"--duration", "-1h"}, `--duration must be positive`},
		{"unknown flag", []string{"--seed", "1"}, `unknown flag: --seed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertUsageError(t, append([]string{"compare"}, c.args...), c.want) })
	}
}
