package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
)

// timeline collects a run's events for a Chrome trace.
type timeline struct {
	events []model.Event
}

func (tl *timeline) observe(e model.Event) { tl.events = append(tl.events, e) }

// traceEvent is one event of the Chrome trace format, which Perfetto and
// chrome://tracing open: "X" a span, "i" an instant, "M" a track's name.
type traceEvent struct {
	Name  string            `json:"name"`
	Cat   string            `json:"cat,omitempty"`
	Ph    string            `json:"ph"`
	Ts    int64             `json:"ts"` // microseconds of virtual time
	Dur   *int64            `json:"dur,omitempty"`
	Pid   int               `json:"pid"`
	Tid   int               `json:"tid"`
	Scope string            `json:"s,omitempty"`
	Args  map[string]string `json:"args,omitempty"`
}

type traceFile struct {
	TraceEvents     []traceEvent `json:"traceEvents"`
	DisplayTimeUnit string       `json:"displayTimeUnit"`
}

// Track numbers: switches and faults have a track each; jobs follow, one
// track per job in the order they were created.
const (
	tidSwitches = 1
	tidFaults   = 2
	tidFirstJob = 3
)

func micros(d time.Duration) int64 { return d.Microseconds() }

// chromeTrace lays the run out as tracks: per job, a "ready" span from its
// creation to its start (or its close, or the run's end) and a "running"
// span from its start to its close (or the run's end), with an instant
// where its pool granted its resource; switch turn-offs on the switches'
// track; every fault that fired on the faults' track.
func chromeTrace(rep *scenarios.Report, tl *timeline) traceFile {
	end := rep.End.Sub(rep.Start)
	out := []traceEvent{
		{Name: "thread_name", Ph: "M", Pid: 1, Tid: tidSwitches, Args: map[string]string{"name": "switches"}},
		{Name: "thread_name", Ph: "M", Pid: 1, Tid: tidFaults, Args: map[string]string{"name": "faults"}},
	}
	type life struct {
		tid                       int
		label                     string
		created, started, closed  time.Duration
		isStarted, isClosed, seen bool
	}
	jobs := map[string]*life{}
	var order []string
	span := func(name string, tid int, from, to time.Duration, args map[string]string) {
		dur := micros(to) - micros(from)
		out = append(out, traceEvent{Name: name, Cat: "job", Ph: "X", Ts: micros(from), Dur: &dur, Pid: 1, Tid: tid, Args: args})
	}

	for _, e := range tl.events {
		switch e.Kind {
		case model.JobCreated:
			l := &life{tid: tidFirstJob + len(order), label: e.Label, created: e.At, seen: true}
			jobs[e.Job] = l
			order = append(order, e.Job)
			out = append(out, traceEvent{Name: "thread_name", Ph: "M", Pid: 1, Tid: l.tid,
				Args: map[string]string{"name": e.Job}})
		case model.JobStarted:
			if l := jobs[e.Job]; l != nil {
				l.started, l.isStarted = e.At, true
			}
		case model.JobClosed:
			if l := jobs[e.Job]; l != nil {
				l.closed, l.isClosed = e.At, true
			}
		case model.ResourceGranted:
			if l := jobs[e.Job]; l != nil {
				out = append(out, traceEvent{Name: "granted by pool " + e.Label, Cat: "pool", Ph: "i",
					Ts: micros(e.At), Pid: 1, Tid: l.tid, Scope: "t"})
			}
		case model.SwitchTurningOff, model.SwitchOff:
			name := "turning off " + e.Label
			if e.Kind == model.SwitchOff {
				name = "off " + e.Label
			}
			out = append(out, traceEvent{Name: name, Cat: "switch", Ph: "i", Ts: micros(e.At), Pid: 1,
				Tid: tidSwitches, Scope: "t"})
		}
	}
	for _, id := range order {
		l := jobs[id]
		last := end
		if l.isClosed {
			last = l.closed
		}
		args := map[string]string{"label": l.label}
		if l.isStarted {
			span("ready", l.tid, l.created, l.started, args)
			span("running", l.tid, l.started, last, args)
		} else {
			span("ready", l.tid, l.created, last, args)
		}
	}
	if rep.Faults != nil {
		for _, f := range rep.Faults.Trace {
			args := map[string]string{}
			if f.Detail != "" {
				args["detail"] = f.Detail
			}
			if f.Job != "" {
				args["job"] = f.Job
			}
			out = append(out, traceEvent{Name: f.Fault.String(), Cat: "fault", Ph: "i", Ts: micros(f.At),
				Pid: 1, Tid: tidFaults, Scope: "g", Args: args})
		}
	}
	return traceFile{TraceEvents: out, DisplayTimeUnit: "ms"}
}

// writeTrace writes the run's Chrome trace to path.
func writeTrace(path string, rep *scenarios.Report, tl *timeline) error {
	b, err := json.Marshal(chromeTrace(rep, tl))
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return usageError{fmt.Errorf("--trace: %w", err)}
	}
	return nil
}
