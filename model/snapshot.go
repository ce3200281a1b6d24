package model

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Snapshot is the model's observable state at one instant. The invariant
// checker and simrun read the model only through it.
type Snapshot struct {
	At      time.Time
	Created int // jobs created since the process started
	Closed  int // jobs closed since the process started
	Gauge   int // the ocurrent_core_active_jobs gauge
	Handles int // capability handles handed out and not released
	Viewers int // log streams open
	// CreatedOf counts the jobs created since the process started, by
	// label.
	CreatedOf map[string]int
	// PeakHooks is the largest any switch's hook stack has been.
	PeakHooks int
	// Jobs is the jobs table, sorted by id as /jobs lists it.
	Jobs []JobView
	// Switches are the switches from their first hook until they are
	// Off, in creation order: a switch wedged turning off stays listed,
	// even once its stack is empty.
	Switches []SwitchView
	// Pools are the Local pools, in creation order.
	Pools []PoolView
	// Cluster is every OCluster scheduler pool the process reaches, and
	// Connections its connections to the schedulers, in creation order.
	Cluster     []SchedPoolView
	Connections []ConnectionView
	FDs         FDView
	Disk        Disk
	LogMode     LogMode
	ProcessLog  []string
}

// FDView is the descriptor table as a snapshot shows it.
type FDView struct {
	Limit   int
	Base    int
	Log     int // log files open
	LogPeak int // the most log files open at once
	Sockets int // viewer sockets open
	InUse   int // all of them, Base included
	Peak    int
}

// JobView is one job as a snapshot shows it.
type JobView struct {
	ID          string
	Label       string
	State       JobState
	Start       time.Time // zero unless running
	Cancelled   string    // the reason, or empty
	LogOpen     bool
	Log         []string
	Owner       string      // the id of the job this one works for, if any
	Switch      string      // the label of the job's switch
	SwitchState SwitchState // the state of the job's switch
	Hooks       int         // how many hooks the job's switch still holds
}

// SwitchView is one switch as a snapshot shows it.
type SwitchView struct {
	Label string
	State SwitchState
	Hooks []string // the hook stack, oldest first
	Peak  int      // the largest the stack has been
}

// Snapshot returns the process's observable state now.
func (p *Process) Snapshot() Snapshot {
	snap := Snapshot{
		At: p.Sim.Now(), Created: p.created, Closed: p.closed,
		Gauge: p.gauge, Handles: p.handles, ProcessLog: slices.Clone(p.plog),
	}
	snap.Viewers = p.viewers
	snap.Disk, snap.LogMode = p.Disk, p.LogMode
	snap.FDs = FDView{
		Limit: p.FDs.Limit, Base: p.FDs.Base, Log: p.FDs.OpenOf(FDLog),
		Sockets: p.FDs.OpenOf(FDSocket), InUse: p.FDs.InUse(), Peak: p.FDs.Peak(),
		LogPeak: p.FDs.PeakOf(FDLog),
	}
	snap.CreatedOf, snap.PeakHooks = maps.Clone(p.createdOf), p.peakHooks
	snap.Jobs = p.jobViews()
	for _, sched := range p.schedulers {
		snap.Cluster = append(snap.Cluster, sched.View()...)
	}
	for _, c := range p.connections {
		snap.Connections = append(snap.Connections, c.View())
	}
	for _, lp := range p.pools {
		snap.Pools = append(snap.Pools, lp.view())
	}
	for _, sw := range p.switches.sorted() {
		snap.Switches = append(snap.Switches, SwitchView{
			Label: sw.label, State: sw.state, Hooks: sw.Hooks(), Peak: sw.peakHook,
		})
	}
	return snap
}

// jobViews returns the jobs table as views, sorted by id as /jobs lists
// it (the order of OpenJobs); nil for an empty table.
//
// It sorts pairs of an id and its job, so that a comparison reads the two
// ids without going through the jobs. The views' logs are copies, all in
// one array of the lines' total: one allocation for the whole table, and
// a snapshot kept after the process is gone holds the lines and none of
// the spare capacity of the logs the model appends to.
func (p *Process) jobViews() []JobView {
	if len(p.jobs) == 0 {
		return nil
	}
	byID := make([]idJob, 0, len(p.jobs))
	lines := 0
	for _, j := range p.jobs {
		byID = append(byID, idJob{j.id, j})
		lines += len(j.log)
	}
	slices.SortFunc(byID, func(a, b idJob) int { return strings.Compare(a.id, b.id) })

	views := make([]JobView, len(byID))
	logs := make([]string, 0, lines)
	for i, e := range byID {
		n := len(logs)
		logs = appendLines(logs, e.job.log)
		var log []string // nil for a job that wrote nothing, as Job.Log
		if len(logs) > n {
			log = logs[n:len(logs):len(logs)]
		}
		views[i] = e.job.view(log)
	}
	return views
}

// idJob is a job and its id, to sort by.
type idJob struct {
	id  string
	job *Job
}

// view is j as a snapshot shows it, with log for its lines.
func (j *Job) view(log []string) JobView {
	return JobView{
		ID: j.id, Label: j.label, State: j.State(), Start: j.startTime(),
		Cancelled: j.reason, LogOpen: j.logOpen, Log: log,
		Owner: j.ownerID(), Switch: j.sw.label, SwitchState: j.sw.state, Hooks: j.sw.hooks.len(),
	}
}

func (j *Job) ownerID() string {
	if j.owner == nil {
		return ""
	}
	return j.owner.id
}
