package scenarios

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/model/ocamlci"
)

// smallWorkload draws 1 to 10 analyses at random times in the first six
// hours, each with 1 to 3 solves of 1 to 60 seconds.
func smallWorkload(t *rapid.T) Workload {
	n := rapid.IntRange(1, 10).Draw(t, "analyses")
	w := make(Workload, n)
	for i := range w {
		at := rapid.Int64Range(0, int64(6*time.Hour/time.Second)).Draw(t, "at_seconds")
		solves := rapid.IntRange(1, 3).Draw(t, "solves")
		ds := make([]time.Duration, solves)
		for k := range ds {
			ds[k] = time.Duration(rapid.IntRange(1, 60).Draw(t, "solve_seconds")) * time.Second
		}
		w[i] = Arrival{At: time.Duration(at) * time.Second, Analysis: ocamlci.Analysis{
			Repo: fmt.Sprintf("org/repo-%02d", i+1), Commit: "0fe2cb1",
			Solves: ocamlci.Solves(solves, ds, 3),
		}}
	}
	slices.SortStableFunc(w, func(a, b Arrival) int { return cmp.Compare(a.At, b.At) })
	return w
}

// describe is a workload in one line, for failure messages.
func describe(w Workload) string {
	parts := make([]string, len(w))
	for i, a := range w {
		parts[i] = fmt.Sprintf("%s@%s×%d", a.Analysis.Repo, a.At, len(a.Analysis.Solves))
	}
	return strings.Join(parts, " ")
}

// invariantHolds is the property: the workload, run under design and
// drained, leaves every job closed.
// Each failing workload is appended to *failing, if failing is not nil:
// the first is what rapid found, the last what it shrank that to.
func invariantHolds(design string, failing *[]Workload) func(*rapid.T) {
	return func(t *rapid.T) {
		w := smallWorkload(t)
		p := Params{Scenario: "property", Design: design, Seed: 1, Duration: 6 * time.Hour}
		rep, err := Execute(p, w)
		if err != nil {
			t.Fatalf("run: %v\nreplay: %s", err, replayCommand(t, p, w))
		}
		if !rep.Verdict.Holds {
			if failing != nil {
				*failing = append(*failing, w)
			}
			t.Fatalf("invariant violated for workload %s: %v\nreplay: %s",
				describe(w), rep.Verdict.Violations[0], replayCommand(t, p, w))
		}
	}
}

// replayCommand saves the case of a failing run under the system's
// temporary directory, named after the test, and returns the simrun
// command that replays it.
func replayCommand(t *rapid.T, p Params, w Workload) string {
	var b strings.Builder
	if err := WriteCase(&b, NewCase(p, w)); err != nil {
		return fmt.Sprintf("(the case could not be saved: %v)", err)
	}
	dir := filepath.Join(os.TempDir(), "jobsim-cases")
	path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".json")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Sprintf("(the case could not be saved: %v)", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Sprintf("(the case could not be saved: %v)", err)
	}
	return "simrun --replay " + path
}

func TestPropertyPerCallClosesEveryJob(t *testing.T) {
	rapid.Check(t, invariantHolds("per-call", nil))
}

func TestPropertyLocalClosesEveryJob(t *testing.T) {
	rapid.Check(t, invariantHolds("local", nil))
}

// recordingTB is a rapid.TB that records a failure instead of failing the
// test, so that a test can assert that rapid finds one.
type recordingTB struct {
	testing.TB
	failed bool
	logs   []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed = true
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recordingTB) Fatal(args ...any)                 { r.Error(args...) }
func (r *recordingTB) Fail()                             { r.failed = true }
func (r *recordingTB) FailNow()                          { r.failed = true }
func (r *recordingTB) Failed() bool                      { return r.failed }
func (r *recordingTB) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Log(args ...any) { r.logs = append(r.logs, fmt.Sprint(args...)) }

// withFlags sets rapid's flags for the duration of a test.
func withFlags(t *testing.T, values map[string]string) {
	t.Helper()
	for name, v := range values {
		f := flag.Lookup(name)
		require.NotNil(t, f, "flag %s", name)
		old := f.Value.String()
		require.NoError(t, flag.Set(name, v))
		t.Cleanup(func() { _ = flag.Set(name, old) })
	}
}

// The module-level design leaks on every workload: rapid must find that
// and shrink it to the smallest case, one analysis with one solve.
func TestPropertyModuleLevelLeakIsFoundAndShrunk(t *testing.T) {
	withFlags(t, map[string]string{"rapid.seed": "1", "rapid.nofailfile": "true"})
	var failing []Workload
	rec := &recordingTB{TB: t}
	rapid.Check(rec, invariantHolds("module", &failing))

	require.True(t, rec.failed, "rapid found no violation under the module-level design")
	found, shrunk := failing[0], failing[len(failing)-1]
	require.Greater(t, found.Solves(), 1, "with this seed rapid first finds a larger case: %s", describe(found))
	require.Len(t, shrunk, 1, "shrunk workload %s: want one analysis", describe(shrunk))
	assert.Len(t, shrunk[0].Analysis.Solves, 1, "shrunk workload %s: want one solve", describe(shrunk))
	assert.Contains(t, strings.Join(rec.logs, "\n"), "solver-job", "rapid's report names the leaked job")
	assert.Contains(t, strings.Join(rec.logs, "\n"), "replay: simrun --replay ", "rapid's report says how to replay the case")
	t.Logf("found %s; shrunk to %s", describe(found), describe(shrunk))
}
