package check

import (
	"sort"
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
// over and nothing will close it. cause, if not nil, names the fault
// behind a job, given the job's id and its owner's ("" for none).
func Classify(s model.Snapshot, cause func(job, owner string) string) []Finding {
	if len(s.Jobs) == 0 {
		return nil
	}
	open := openIn(s.Jobs)

	out := make([]Finding, len(s.Jobs))
	for i := range s.Jobs {
		j, f := &s.Jobs[i], &out[i]
		*f = Finding{Job: j.ID, Label: j.Label, State: j.State.String(), Class: Hung}
		switch {
		case j.SwitchState == model.TurningOff:
			f.Class, f.WaitsOn = Leaked, "nothing: its switch is stuck turning off"
		case j.Owner != "" && !open(j.Owner):
			f.Class, f.WaitsOn = Leaked, "nothing: its work is over and its switch is never turned off"
		default:
			f.WaitsOn = waitsOn(j)
		}
		if cause != nil {
			f.Cause = cause(j.ID, j.Owner)
		}
	}
	return out
}

// openIn returns a test of whether a job with a given id is among jobs. A
// snapshot lists its jobs sorted by id, so an id is looked up by binary
// search; jobs listed in another order are put in a set first.
func openIn(jobs []model.JobView) func(id string) bool {
	for i := 1; i < len(jobs); i++ {
		if jobs[i].ID < jobs[i-1].ID {
			ids := make(map[string]bool, len(jobs))
			for _, j := range jobs {
				ids[j.ID] = true
			}
			return func(id string) bool { return ids[id] }
		}
	}
	return func(id string) bool {
		i := sort.Search(len(jobs), func(i int) bool { return jobs[i].ID >= id })
		return i < len(jobs) && jobs[i].ID == id
	}
}

// waitsOn reads what an unfinished job waits on from its state and log.
func waitsOn(j *model.JobView) string {
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
