package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// simrun runs the command in-process and returns its output and status.
func simrun(t testing.TB, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(args, &out, &errOut)
	return out.String(), errOut.String(), status
}

// golden compares got with the golden file name, or rewrites the file
// when the test runs with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./cmd/simrun -update")
	assert.Equal(t, string(want), got, "output differs from %s; if the change is intended, run go test ./cmd/simrun -update", path)
}

// TestGoldenScenarios keeps the text output of every scenario under every
// design, seed 1, at its defaults.
func TestGoldenScenarios(t *testing.T) {
	for _, sc := range scenarios.Scenarios() {
		if sc.Name == "leak" {
			continue // TestGoldenLeak
		}
		for _, d := range scenarios.Designs() {
			t.Run(sc.Name+"/"+d.Name, func(t *testing.T) {
				out, errOut, status := simrun(t, "--scenario", sc.Name, "--design", d.Name, "--seed", "1")
				assert.Contains(t, []int{exitHolds, exitViolated}, status, "simrun --scenario %s --design %s: exit status", sc.Name, d.Name)
				assert.Empty(t, errOut)
				golden(t, "simrun-"+sc.Name+"-"+d.Name+".txt", out)
			})
		}
	}
}

func TestGoldenLeak(t *testing.T) {
	cases := []struct {
		design string
		status int
	}{
		{"module", exitViolated},
		{"per-call", exitHolds},
		{"local", exitHolds},
	}
	for _, c := range cases {
		t.Run(c.design, func(t *testing.T) {
			out, errOut, status := simrun(t, "--scenario", "leak", "--design", c.design, "--seed", "1")
			assert.Equal(t, c.status, status, "simrun --design %s: exit status", c.design)
			assert.Empty(t, errOut)
			golden(t, "simrun-leak-"+c.design+".txt", out)
		})
	}
}

// jsonRun runs simrun --format json and decodes the report.
func jsonRun(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	out, errOut, _ := simrun(t, append([]string{"--format", "json"}, args...)...)
	require.Empty(t, errOut)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "simrun --format json printed invalid JSON")
	return rep, out
}

func TestJSONReport(t *testing.T) {
	rep, _ := jsonRun(t, "--design", "module", "--seed", "1")
	for _, key := range []string{"scenario", "design", "seed", "start", "end", "events", "jobs", "open_jobs", "invariant", "repro"} {
		assert.Contains(t, rep, key)
	}
	jobs := rep["jobs"].(map[string]any)
	open := rep["open_jobs"].([]any)
	assert.Equal(t, jobs["open"], float64(len(open)), "jobs.open counts open_jobs")
	assert.Greater(t, len(open), 300, "the module-level design leaves several hundred solver-jobs")

	first := open[0].(map[string]any)
	assert.Equal(t, "solver-job", first["label"])
	assert.Equal(t, "running", first["state"])
	log := first["log"].([]any)
	require.Len(t, log, 2)
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d\.\d\d: Waiting for resource in pool OCluster$`, log[0])
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d\.\d\d: Got resource from pool OCluster$`, log[1])

	inv := rep["invariant"].(map[string]any)
	assert.Equal(t, false, inv["holds"])
	assert.Len(t, inv["violations"], len(open))
	assert.Equal(t, "simrun --scenario leak --design module --seed 1 --duration 72h", rep["repro"])

	fixed, _ := jsonRun(t, "--design", "per-call", "--seed", "1")
	assert.Equal(t, true, fixed["invariant"].(map[string]any)["holds"])
	assert.Empty(t, fixed["open_jobs"])
}

func TestDeterminism(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var outputs []string
	for _, procs := range []int{1, 4, 1} {
		runtime.GOMAXPROCS(procs)
		_, out := jsonRun(t, "--seed", "42", "--duration", "24h")
		outputs = append(outputs, out)
	}
	for i := 1; i < len(outputs); i++ {
		assert.Equal(t, outputs[0], outputs[i], "run %d with the same seed differs from run 0", i)
	}

	_, other := jsonRun(t, "--seed", "43", "--duration", "24h")
	assert.NotEqual(t, outputs[0], other, "seeds 42 and 43 gave the same run")
}

func TestReplayCommand(t *testing.T) {
	rep, first := jsonRun(t, "--seed", "9", "--duration", "12h", "--drain", "2h")
	args := strings.Fields(rep["repro"].(string))
	require.Equal(t, "simrun", args[0])
	_, again := jsonRun(t, args[1:]...)
	assert.Equal(t, first, again, "running the repro command gave a different run")
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // in the one-line error
	}{
		{"unknown scenario", []string{"--scenario", "nope"}, `unknown scenario "nope" (valid: leak, solver-error, `},
		{"unknown design", []string{"--design", "global"}, `design "global" (valid: module, per-call, local)`},
		{"unknown format", []string{"--format", "yaml"}, `unknown format "yaml" (valid: text, json)`},
		{"malformed seed", []string{"--seed", "x1"}, `invalid argument "x1" for "--seed"`},
		{"negative seed", []string{"--seed", "-1"}, `invalid argument "-1" for "--seed"`},
		{"malformed duration", []string{"--duration", "3 days"}, `invalid argument "3 days" for "--duration"`},
		{"negative duration", []string{"--duration", "-1h"}, `--duration must be positive`},
		{"zero drain", []string{"--drain", "0s"}, `--drain must be positive`},
		{"zero event budget", []string{"--max-events", "0"}, `--max-events must be at least 1`},
		{"negative limit", []string{"--limit", "-2"}, `--limit must be 0 or more`},
		{"unknown flag", []string{"--sead", "1"}, `unknown flag: --sead`},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"malformed fault plan", []string{"--faults", "worker-lost@2h; emfile@job-log:"}, `parse fault plan: 1:32: expected a quoted text or a pass number after ':', found end of plan`},
		{"unknown fault kind", []string{"--faults", "meteor@1h"}, `unknown fault kind "meteor"`},
		{"malformed random plan", []string{"--faults", "random:2:0.1"}, `probability "2" is not a number from 0 to 1`},
		{"missing plan file", []string{"--faults-file", "/nonexistent/plan"}, `--faults-file: open /nonexistent/plan`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertUsageError(t, c.args, c.want) })
	}
}

// assertUsageError runs simrun with args and checks that it refuses them
// with exit status 2 and one line on stderr that contains want.
func assertUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	out, errOut, status := simrun(t, args...)
	assert.Equal(t, exitUsage, status, "simrun %v: exit status", args)
	assert.Empty(t, out)
	assert.Contains(t, errOut, want)
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "error is one line: %q", errOut)
	assert.True(t, strings.HasPrefix(errOut, "simrun: "), "error starts with simrun: %q", errOut)
}

func TestEventBudget(t *testing.T) {
	out, errOut, status := simrun(t, "--max-events", "100")
	assert.Equal(t, exitBudget, status)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "run exceeded its event budget")
	assert.Contains(t, errOut, "--max-events")
}

func TestList(t *testing.T) {
	out, _, status := simrun(t, "list")
	assert.Equal(t, exitHolds, status)
	for _, name := range []string{"leak", "module", "per-call", "local"} {
		assert.Regexp(t, `(?m)^(scenario|design) +`+name+` `, out)
	}
}

func TestHelp(t *testing.T) {
	out, _, status := simrun(t, "--help")
	assert.Equal(t, exitHolds, status)
	for _, flag := range []string{"--scenario", "--design", "--seed", "--duration", "--format", "Exit status"} {
		assert.Contains(t, out, flag)
	}
}

func TestFaultPlanFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan")
	require.NoError(t, os.WriteFile(path, []byte("# two faults\nworker-lost@2h\nemfile@job-log:\"Got resource\" once\n"), 0o644))
	rep, _ := jsonRun(t, "--faults-file", path, "--duration", "6h")
	faults := rep["faults"].(map[string]any)
	assert.Len(t, faults["fired"], 2)

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("worker-lost@2h\nworker-lost@soon\n"), 0o644))
	_, errOut, status := simrun(t, "--faults-file", bad)
	assert.Equal(t, exitUsage, status)
	assert.Equal(t, "simrun: \""+bad+"\": parse fault plan: 2:13: worker-lost cannot fire at site \"soon\" (valid: a time, solve)\n", errOut)
}

// A run with random faults prints a replay command with the explicit
// plan of what fired; running it prints the same report, byte for byte.
func TestRandomFaultsReplay(t *testing.T) {
	rep, first := jsonRun(t, "--faults", "random:0.5:0.1", "--duration", "6h", "--seed", "5")
	cmd := rep["repro"].(string)
	const marker = " --faults '"
	i := strings.Index(cmd, marker)
	require.True(t, i > 0, "repro %q has an explicit plan", cmd)
	plan := strings.TrimSuffix(cmd[i+len(marker):], "'")
	args := append(strings.Fields(cmd[len("simrun "):i]), "--faults", plan)
	_, again := jsonRun(t, args...)
	assert.Equal(t, first, again, "replaying %s", cmd)
}
