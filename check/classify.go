package check

import (
	"strings"

	"github.com/jobsim/jobsim/model"
)

// Finding is a job left open at the end of a run, judged.
type Finding struct {
	Job   string
	Label string
	State string
	// Class is "leaked" when nothing will ever close the job, or "hung"
	// when the work it belongs to is still waiting for something.
	Class string
	// WaitsOn says what the job waits on: a pool, a worker, its solves, or
	// nothing.
	WaitsOn string
	// Cause is the fault that put it there, in the plan grammar, if any.
	Cause string
}

// Classes of Finding.
const (
	Leaked = "leaked"
	Hung   = "hung"
)

// Classify judges every job left open in s. A job hangs if the work it
// belongs to is unfinished: it works for a job that is still open, or it
// works for nobody (an analysis job, which closes when its work ends) and
// its switch is not stuck turning off. Otherwise it leaked: its work is
// over and nothing will close it. cause names the fault behind a job,
// given the job's id and its owner's.
func Classify(s model.Snapshot, cause func(jobs ...string) string) []Finding {
	open := map[string]bool{}
	for _, j := range s.Jobs {
		open[j.ID] = true
	}

	var out []Finding
	for _, j := range s.Jobs {
		f := Finding{Job: j.ID, Label: j.Label, State: j.State.String(), Class: Hung}
		switch {
		case j.SwitchState == model.TurningOff:
			f.Class, f.WaitsOn = Leaked, "nothing: its switch is stuck turning off"
		case j.Owner != "" && !open[j.Owner]:
			f.Class, f.WaitsOn = Leaked, "nothing: its work is over and its switch is never turned off"
		default:
			f.WaitsOn = waitsOn(j)
		}
		if cause != nil {
			f.Cause = cause(j.ID, j.Owner)
		}
		out = append(out, f)
	}
	return out
}

// waitsOn reads what an unfinished job waits on from its state and log.
func waitsOn(j model.JobView) string {
	const waiting = "Waiting for resource in pool "
	if j.State == model.Ready {
		for i := len(j.Log) - 1; i >= 0; i-- {
			if _, pool, ok := strings.Cut(j.Log[i], waiting); ok {
				return "pool " + pool
			}
		}
		return "its start"
	}
	if j.Owner == "" {
		return "its own work (solves)"
	}
	return "a worker: the remote job's result and log"
}
