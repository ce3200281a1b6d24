package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	args := []string{"--design", "module", "--duration", "6h", "--faults", "worker-lost@2h", "--format", "json"}
	rep, plain := jsonRun(t, args...)
	_, traced := jsonRun(t, append(args, "--trace", path)...)
	assert.Equal(t, plain, traced, "tracing a run does not change it")

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var tr struct {
		TraceEvents []struct {
			Name string            `json:"name"`
			Ph   string            `json:"ph"`
			Ts   int64             `json:"ts"`
			Dur  *int64            `json:"dur"`
			Tid  int               `json:"tid"`
			Args map[string]string `json:"args"`
		} `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(b, &tr), "the trace is JSON")

	tracks := map[string]int{} // job id → tid
	spans := map[string]int{}  // span name → count
	var faults, turnOffs, grants int
	for _, e := range tr.TraceEvents {
		switch {
		case e.Ph == "M" && strings.Contains(e.Args["name"], "/"):
			tracks[e.Args["name"]] = e.Tid
		case e.Ph == "X":
			spans[e.Name]++
			require.NotNil(t, e.Dur, "span %s has a duration", e.Name)
			assert.GreaterOrEqual(t, *e.Dur, int64(0))
		case e.Ph == "i" && e.Tid == tidFaults:
			faults++
			assert.Equal(t, "worker-lost@2h", e.Name)
			assert.Equal(t, int64(2*3600*1e6), e.Ts, "virtual time becomes trace time")
		case e.Ph == "i" && strings.HasPrefix(e.Name, "turning off "):
			turnOffs++
		case e.Ph == "i" && strings.HasPrefix(e.Name, "granted by pool "):
			grants++
		}
	}
	jobs := rep["jobs"].(map[string]any)
	assert.Len(t, tracks, int(jobs["created"].(float64)), "one track per job created")
	assert.Equal(t, len(tracks), spans["ready"], "every job has a ready span")
	assert.Positive(t, spans["running"])
	assert.Equal(t, 1, faults)
	assert.Positive(t, turnOffs)
	assert.Positive(t, grants)

	for _, j := range rep["open_jobs"].([]any) {
		id := j.(map[string]any)["id"].(string)
		assert.Contains(t, tracks, id, "leaked job %s has its track", id)
	}
}

func TestTraceUnwritable(t *testing.T) {
	_, errOut, status := simrun(t, "--duration", "1h", "--trace", filepath.Join(t.TempDir(), "no", "t.json"))
	assert.Equal(t, exitUsage, status)
	assert.Contains(t, errOut, "simrun: --trace: open ")
}
