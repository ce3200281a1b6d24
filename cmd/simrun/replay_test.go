package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/property"
)

// replayLine finds the simrun command a failing property printed.
var replayLine = regexp.MustCompile(`replay: (simrun --replay \S+)`)

// A property's failure prints a simrun command; running it shows the
// same violation, first among the ledger's, and exits 1.
func TestPropertyFailureReplaysInSimrun(t *testing.T) {
	cases := []struct {
		name string
		prop property.Property
	}{
		{"module-level_leak", property.Property{Design: "module", Faults: property.Survivable}},
		{"F12_per-call", property.Property{Design: "per-call", Faults: property.SolverJobDescriptors}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			found, err := property.Find(t, 1, 0, c.prop)
			require.NoError(t, err)
			require.NotNil(t, found.Shrunk, "the property found no failure")

			m := replayLine.FindStringSubmatch(strings.Join(found.Report, "\n"))
			require.NotNil(t, m, "no replay command in rapid's report:\n%s", strings.Join(found.Report, "\n"))
			args := strings.Fields(m[1])
			out, errOut, status := simrun(t, args[1:]...)
			assert.Empty(t, errOut)
			assert.Equal(t, exitViolated, status, "%s: exit status", m[1])

			want := found.Shrunk.Violations[0].String()
			assert.Contains(t, out, "VIOLATED: "+plural(len(found.Shrunk.Violations), "violation")+"\n  "+want+"\n",
				"%s shows the property's first violation", m[1])
			assert.Contains(t, out, "\nreplay: "+m[1]+"\n", "the replay prints itself")
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// --save-case writes the run's case; --replay runs it again, byte for
// byte, for a scenario with its own faults, a random plan and the ledger.
func TestSaveCaseAndReplay(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"leak", []string{"--duration", "12h"}},
		{"scenario's own faults", []string{"--scenario", "emfile-got-resource", "--design", "per-call"}},
		{"random plan, ledger, held logs", []string{"--faults", "random:0.5:0.1", "--duration", "6h", "--seed", "5",
			"--design", "per-call", "--ledger", "--log-mode", "held"}},
		{"no heal, one check skipped", []string{"--scenario", "no-worker", "--ledger-skip", "hooks"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "case.json")
			first, errOut, status := simrun(t, append(c.args, "--save-case", path)...)
			require.Empty(t, errOut)
			again, errOut, again2 := simrun(t, "--replay", path)
			require.Empty(t, errOut)
			assert.Equal(t, status, again2, "exit status")
			assert.Equal(t, first, again, "replaying the case saved by simrun %v", c.args)

			b, err := os.ReadFile(path)
			require.NoError(t, err)
			var saved map[string]any
			require.NoError(t, json.Unmarshal(b, &saved))
			for _, key := range []string{"scenario", "design", "seed", "duration", "drain"} {
				assert.Contains(t, saved, key)
			}
		})
	}
}

// A replayed case that carries its own workload is replayed by its file,
// and --save-case writes the workload again.
func TestReplayCarriesTheWorkload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "case.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
  "scenario": "property", "design": "per-call", "seed": 1, "duration": "2h", "drain": "24h",
  "faults": "emfile@job-log:\"Got resource\"", "ledger": ["handles"],
  "workload": [{"at": "0s", "repo": "org/repo-01", "commit": "0fe2cb1",
                "solves": [{"kind": "main", "duration": "1s", "platforms": 3}]}]
}`), 0o644))
	again := filepath.Join(dir, "again.json")
	out, errOut, status := simrun(t, "--replay", path, "--save-case", again)
	require.Empty(t, errOut)
	assert.Equal(t, exitViolated, status)
	assert.Contains(t, out, "ledger: checks handles, after every event and at the end: VIOLATED: 4 violations\n"+
		"  handles: handle to remote job solver-1/1, taken for job 2026-06-02/150213-solver-job-cda355 at +5ms (step 2): held after its job closed; seen after step 2 at +5ms\n")
	assert.Contains(t, out, "\nreplay: simrun --replay "+path+"\n")

	out2, _, _ := simrun(t, "--replay", again)
	assert.Equal(t, strings.ReplaceAll(out, path, again), out2, "the saved case carries the workload")

	rep, _ := jsonRun(t, "--replay", path)
	led := rep["ledger"].(map[string]any)
	assert.Equal(t, false, led["holds"])
	first := led["violations"].([]any)[0].(map[string]any)
	assert.Equal(t, "handles", first["check"])
	assert.Equal(t, float64(2), first["taken_step"])
}

func TestCaseUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	good := write("good.json", `{"scenario": "leak", "design": "module", "seed": 1, "duration": "1h", "drain": "1h"}`)
	garbled := write("garbled.json", `{"scenario": "leak",`)
	unknownField := write("field.json", `{"scenario": "leak", "design": "module", "duration": "1h", "drain": "1h", "sede": 1}`)
	badDesign := write("design.json", `{"scenario": "leak", "design": "global", "duration": "1h", "drain": "1h"}`)
	badPlan := write("plan.json", `{"scenario": "leak", "design": "module", "duration": "1h", "drain": "1h", "faults": "meteor@1h"}`)
	badDuration := write("duration.json", `{"scenario": "leak", "design": "module", "duration": "soon", "drain": "1h"}`)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing case file", []string{"--replay", filepath.Join(dir, "none.json")}, "--replay: open " + dir + "/none.json: no such file or directory"},
		{"garbled case file", []string{"--replay", garbled}, "--replay " + garbled + ": read case: unexpected EOF"},
		{"unknown field", []string{"--replay", unknownField}, `read case: json: unknown field "sede"`},
		{"unknown design in case", []string{"--replay", badDesign}, `unknown design "global" (valid: module, per-call, local)`},
		{"bad plan in case", []string{"--replay", badPlan}, `unknown fault kind "meteor"`},
		{"bad duration in case", []string{"--replay", badDuration}, `duration: want a duration such as 90s or 2h, got "soon"`},
		{"replay with a run flag", []string{"--replay", good, "--design", "per-call"}, "--replay runs the case in " + good + " as saved; drop --design"},
		{"unknown check", []string{"--ledger-skip", "handle"}, `--ledger-skip: unknown ledger check "handle" (valid: jobs, hooks, `},
		{"every check skipped", []string{"--ledger-skip", "jobs,hooks,pool-slots,pipeline,tickets,handles,log-fds,sockets"}, "--ledger-skip leaves no check to keep"},
		{"unknown log mode", []string{"--log-mode", "kept"}, `--log-mode: unknown log mode "kept" (valid: transient, held)`},
		{"unwritable case file", []string{"--scenario", "solver-error", "--save-case", filepath.Join(dir, "no", "case.json")}, "--save-case: open " + dir + "/no/case.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertUsageError(t, c.args, c.want) })
	}
}
