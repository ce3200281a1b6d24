// Package check holds jobsim's invariant: every job that was started ends
// terminal, with its log closed and every resource it took given back.
//
// The checker reads only a model.Snapshot, so that it judges what an
// operator could observe and nothing else:
//
//	verdict := check.Invariant(proc.Snapshot())
//	if !verdict.Holds {
//		fmt.Println(verdict.Violations[0])
//	}
package check

import (
	"fmt"

	"github.com/jobsim/jobsim/model"
)

// Violation is one breach of the invariant.
type Violation struct {
	Job      string // the job's id, or "process" for bookkeeping
	Label    string
	State    string // ready or running
	LastLine string // the job's last log line, if any
	Switch   string // the label of the switch that holds the job
	Reason   string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s", v.Job, v.Reason)
}

// Verdict is the outcome of a check.
type Verdict struct {
	Holds      bool
	Violations []Violation
}

// Invariant checks, after a run and its drain, that every job created is
// closed: out of the jobs table, its log closed, its switch's hooks run.
// Each job still in the table is one violation, naming its state, its last
// log line and the switch that holds it. The counters must agree with the
// table too: created minus closed, and the active-jobs gauge, both equal
// the table's size. And every resource taken must be back: no capability
// handle unreleased, no viewer socket open, no pool slot that no switch
// will give back. The violations of jobs whose reasons read the same share
// one reason string, so that a verdict on many leaked jobs of one switch
// costs a violation each and one reason.
func Invariant(s model.Snapshot) Verdict {
	var vs []Violation
	if n := len(s.Jobs); n > 0 {
		// Room for a violation per job and for every bookkeeping one below.
		vs = make([]Violation, 0, n+4+len(s.Pools))
	}
	reasons := reasonsByKey{}
	for i := range s.Jobs {
		j := &s.Jobs[i]
		last := ""
		if n := len(j.Log); n > 0 {
			last = j.Log[n-1]
		}
		vs = append(vs, Violation{
			Job: j.ID, Label: j.Label, State: j.State.String(), LastLine: last, Switch: j.Switch,
			Reason: reasons.of(j),
		})
	}

	if open := s.Created - s.Closed; open != len(s.Jobs) {
		vs = append(vs, Violation{Job: "process", Reason: fmt.Sprintf(
			"%d jobs created and %d closed, but the table holds %d", s.Created, s.Closed, len(s.Jobs))})
	}
	if s.Gauge != len(s.Jobs) {
		vs = append(vs, Violation{Job: "process", Reason: fmt.Sprintf(
			"active-jobs gauge is %d, but the table holds %d", s.Gauge, len(s.Jobs))})
	}
	if s.Handles > 0 {
		vs = append(vs, Violation{Job: "process", Reason: fmt.Sprintf(
			"%d capability handles never released", s.Handles)})
	}
	if s.FDs.Sockets > 0 {
		vs = append(vs, Violation{Job: "process", Reason: fmt.Sprintf(
			"%d viewer sockets still open", s.FDs.Sockets)})
	}
	for _, pv := range s.Pools {
		if pv.Leaked > 0 {
			vs = append(vs, Violation{Job: "process", Reason: fmt.Sprintf(
				"%d slots of pool %q held with no release hook: never freed", pv.Leaked, pv.Label)})
		}
	}
	return Verdict{Holds: len(vs) == 0, Violations: vs}
}

// reasonKey is what a job's violation reason is made of. The jobs left
// open on one switch mostly share it, so that their violations share one
// reason, formatted once.
type reasonKey struct {
	state       model.JobState
	sw          string
	switchState model.SwitchState
	hooks       int
	logOpen     bool
}

// reasonsByKey holds the reasons formatted so far.
type reasonsByKey map[reasonKey]string

// of returns why job j, still in the table, breaks the invariant.
func (rs reasonsByKey) of(j *model.JobView) string {
	k := reasonKey{j.State, j.Switch, j.SwitchState, j.Hooks, j.LogOpen}
	r, ok := rs[k]
	if !ok {
		r = fmt.Sprintf("%s, never closed: held by switch %q (%s, %d hooks), log %s",
			k.state, k.sw, k.switchState, k.hooks, openClosed(k.logOpen))
		rs[k] = r
	}
	return r
}

func openClosed(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}
