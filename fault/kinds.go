package fault

import (
	"slices"
	"strings"
)

// Sites of the model where a fault can fire. Each pass of the run through
// a site has a detail that a plan's quoted text is matched against.
const (
	SiteJobCreate  = "job-create"   // a job's log file is created; detail: the job's label
	SiteJobLog     = "job-log"      // a line is written to a job's log; detail: the message
	SiteReadyToRun = "ready-to-run" // a job enters the table, ready; detail: its label
	SiteWaiting    = "waiting"      // a job starts waiting for a pool; detail: its label
	SiteRunning    = "running"      // a job gets its start time; detail: its label
	SiteSubmit     = "submit"       // a solve is submitted to the cluster; detail: the action
	SiteTicket     = "ticket"       // a submission waits for a worker; detail: the action
	SiteSolve      = "solve"        // a worker starts a solve; detail: the worker's name
)

// Kind describes one kind of fault: where it may fire and whether it
// lasts.
type Kind struct {
	Name    string
	Row     string // the row of the fault table in docs/RULES.md it stands for
	Summary string
	Sites   []string
	AtTime  bool // it may fire at a virtual time
	Lasting bool // it lasts ('for D'), until healed if no duration is given
}

func (k Kind) allows(site string) bool { return slices.Contains(k.Sites, site) }

func (k Kind) triggers() string {
	ts := slices.Clone(k.Sites)
	if k.AtTime {
		ts = append([]string{"a time"}, ts...)
	}
	return strings.Join(ts, ", ")
}

var jobSites = []string{SiteReadyToRun, SiteWaiting, SiteRunning}

var kindList = []Kind{
	{Name: "scheduler-error", Row: "F2", AtTime: true, Sites: []string{SiteTicket},
		Summary: "the scheduler fails a ticket that waits for a worker, the connection staying up"},
	{Name: "scheduler-disconnect", Row: "F3", AtTime: true, Lasting: true,
		Sites:   []string{SiteSubmit, SiteTicket, SiteSolve},
		Summary: "the connection to the scheduler breaks, and comes back after 'for' (default 30s)"},
	{Name: "scheduler-down", Row: "F5", AtTime: true, Lasting: true, Sites: []string{SiteSubmit, SiteTicket},
		Summary: "the scheduler is unreachable until healed or for the given time"},
	{Name: "no-worker", Row: "F5", AtTime: true, Lasting: true, Sites: []string{SiteSubmit},
		Summary: "every solver worker leaves; none takes a job until healed or for the given time"},
	{Name: "worker-lost", Row: "F4", AtTime: true, Sites: []string{SiteSolve},
		Summary: "a worker disconnects mid-run; its handles break"},
	{Name: "worker-hang", Row: "F6", AtTime: true, Lasting: true, Sites: []string{SiteSolve},
		Summary: "a worker stops making progress and never closes its logs until healed"},
	{Name: "solver-exception", Row: "F1", Sites: []string{SiteSolve},
		Summary: "the solve raises; the worker writes \"Uncaught exception\""},
	{Name: "cancel", Row: "F9/F10", Sites: jobSites,
		Summary: "a person presses cancel on the job's page (\"Cancelled by user\")"},
	{Name: "cancel-analysis", Row: "F7/F8", AtTime: true,
		Sites:   append(slices.Clone(jobSites), SiteTicket, SiteSolve),
		Summary: "a person cancels the analysis the site works for (every open analysis at a time)"},
	{Name: "auto-cancel", Row: "F7/F8", AtTime: true,
		Sites:   append(slices.Clone(jobSites), SiteTicket, SiteSolve),
		Summary: "the engine auto-cancels the analysis, as it does when it is no longer needed"},
	{Name: "emfile", Row: "F11-F13", Sites: []string{SiteJobCreate, SiteJobLog},
		Summary: "the process is out of descriptors: \"too many open files\""},
	{Name: "enospc", Row: "F11-F13", Sites: []string{SiteJobCreate, SiteJobLog},
		Summary: "the disk is full: \"no space left on device\""},
	{Name: "restart", Row: "F14", AtTime: true,
		Summary: "the OCurrent process restarts: the jobs table is cleared, log files stay on disk"},
	{Name: "viewer", Row: "F15", Lasting: true, Sites: jobSites,
		Summary: "a client streams the job's log, leaving after 'for' or when the job closes"},
}

var kinds = func() map[string]Kind {
	m := map[string]Kind{}
	for _, k := range kindList {
		m[k.Name] = k
	}
	return m
}()

// Kinds returns every kind of fault, in a fixed order.
func Kinds() []Kind { return slices.Clone(kindList) }

// KindNames returns the names of every kind, in the order of Kinds.
func KindNames() []string {
	names := make([]string, len(kindList))
	for i, k := range kindList {
		names[i] = k.Name
	}
	return names
}

func lastingKinds() []string {
	var names []string
	for _, k := range kindList {
		if k.Lasting {
			names = append(names, k.Name)
		}
	}
	return names
}

// Grammar describes the plan grammar, for --help and the README.
const Grammar = `A fault plan is a list of faults separated by ';' or new lines; '#' starts
a comment. Each fault is

    KIND@TIME [for DURATION]
    KIND@SITE[:"TEXT"][:N] [for DURATION] [once | always | times N]

KIND@TIME fires once, at that virtual time since the run began (90s, 30m,
2h, 1h30m). KIND@SITE fires when the run passes SITE: counting only the
passes whose detail contains TEXT, it fires at the Nth (default 1st) and,
with 'times N' or 'always', at the passes after it too. 'for' sets how long
a lasting fault lasts; without it, it lasts until the healing phase.

Sites: job-create, job-log (detail: the message), ready-to-run, waiting,
running (detail: the job's label), submit, ticket (detail: the action),
solve (detail: the worker).

Examples:
    worker-lost@2h
    scheduler-down@1h for 30m
    emfile@job-log:"Got resource" once
    cancel-analysis@ready-to-run:3
    cancel@waiting:"solver-job"; viewer@running:"solver-job" times 5`
