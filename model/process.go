package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Process is the simulated OCaml process that runs OCurrent: the global
// state that the real engine keeps in module-level values. It owns the
// jobs table shown on /jobs, the ocurrent_core_active_jobs gauge, the
// descriptor table and disk that job logs use, the count of capability
// handles not yet released, and the process log (the engine's own
// warnings, kept apart from job logs).
type Process struct {
	Sim *sim.Sim

	// LogMode is how job logs hold descriptors (JB5); set it before the
	// first job is created.
	LogMode LogMode
	// FDs is the process's descriptor table.
	FDs FDTable
	// Disk is the space job logs may use.
	Disk Disk
	// Inject, if set, is asked at each site that can fail whether to fail
	// there: it returns the error to fail with, or nil. The sites are
	// SiteJobCreate and SiteJobLog, where the error is the write's, and
	// SiteTicket and SiteSolve, where it fails the ticket or makes the
	// solve raise.
	Inject func(site Site, detail string) error
	// Observe, if set, is told of each step of a job's life and each
	// switch turn-off, for timelines; see Event.
	Observe func(Event)
	// OnPass, if set, is told of each pass through a site where something
	// can happen to the run (a job cancelled, a worker lost): the job
	// sites, SiteSubmit, and SiteTicket and SiteSolve once Inject let them
	// pass.
	OnPass func(Pass)
	// Ledger, if set, is told of every resource taken for a job and of
	// its return; see Ledger. Set it before the first job is created.
	Ledger Ledger

	jobs      map[string]*Job // the jobs table; only closing removes a job
	created   int
	createdOf map[string]int // jobs created, by label
	closed    int
	gauge     int
	plog      []string
	handles   int // capability handles handed out and not yet released
	viewers   int // log streams open

	stopped bool // the process has exited; see Stop
	cleared int  // jobs in the table when it stopped

	pools       []*LocalPool
	schedulers  []*Scheduler  // the OCluster schedulers this process reaches
	connections []*Connection // its connections to them
	switchSeq   int
	hookSeq     uint64    // hooks pushed while a ledger watched, for their keys
	switches    switchSet // switches with hooks on their stack
	peakHooks   int       // the largest any switch's hook stack has been
	dropped     []*Switch // switches nothing references any more (SW7)

	lines map[string]*poolLines // by pool label; see poolLines

	// The length of the stamp of the last virtual second a line was
	// stamped in; see stampLen.
	stampSec int64
	stampN   int
	idSec    int64  // the second idBuf was made in
	idBuf    []byte // "YYYY-MM-DD/HHMMSS" of that second, for job ids
}

// DefaultBaseFDs is how many descriptors a process holds before it runs
// any job: the standard streams, the web server's listening socket, the
// database and the scheduler connection, give or take.
const DefaultBaseFDs = 16

// NewProcess returns a process with an empty jobs table, running on s,
// with transient logs, a descriptor limit of DefaultFDLimit and an
// unlimited disk.
func NewProcess(s *sim.Sim) *Process {
	return &Process{
		Sim:  s,
		FDs:  FDTable{Limit: DefaultFDLimit, Base: DefaultBaseFDs},
		jobs: map[string]*Job{}, createdOf: map[string]int{},
	}
}

// Site names a place in the model where a fault can be injected.
type Site string

const (
	// SiteJobCreate is the creation of a job's log file (JB2); the detail
	// is the job's label.
	SiteJobCreate Site = "job-create"
	// SiteJobLog is a write to a job's log (JB5); the detail is the
	// message, without its timestamp.
	SiteJobLog Site = "job-log"
	// SiteReadyToRun is a job entering the table (JB3); the detail is
	// its label.
	SiteReadyToRun Site = "ready-to-run"
	// SiteWaiting is a job starting to wait for a pool (JB9).
	SiteWaiting Site = "waiting"
	// SiteRunning is a job getting its start time (JB10).
	SiteRunning Site = "running"
	// SiteSubmit is a submission to an OCluster pool (OC3); the detail is
	// the action's kind.
	SiteSubmit Site = "submit"
	// SiteTicket is a submission that got its ticket and waits for a
	// worker (OC3); the detail is the action's kind.
	SiteTicket Site = "ticket"
	// SiteSolve is a worker starting a job (OC8); the detail is the
	// worker's name.
	SiteSolve Site = "solve"
)

// Pass is one pass of the run through a site.
type Pass struct {
	Site   Site
	Detail string
	// Job is the job the site concerns: the job itself at the job sites,
	// the job an OCluster submission logs to at the cluster sites.
	Job *Job
}

// pass tells the OnPass hook about a pass.
func (p *Process) pass(ps Pass) {
	if p.OnPass != nil {
		p.OnPass(ps)
	}
}

// inject asks the fault hook about site.
func (p *Process) inject(site Site, detail string) error {
	if p.Inject == nil {
		return nil
	}
	return p.Inject(site, detail)
}

// Warn appends a line to the process log, stamped like a job log line.
func (p *Process) Warn(format string, args ...any) {
	p.plog = append(p.plog, p.stamp(fmt.Sprintf(format, args...)))
}

// ProcessLog returns the process log's lines, oldest first.
func (p *Process) ProcessLog() []string { return slices.Clone(p.plog) }

// Gauge returns the ocurrent_core_active_jobs gauge.
func (p *Process) Gauge() int { return p.gauge }

// OpenCount returns how many jobs are in the table: len(OpenJobs()),
// without building the list.
func (p *Process) OpenCount() int { return len(p.jobs) }

// Hooks returns how many hooks all switches hold on their stacks, at a
// cost of one step per switch that holds any.
func (p *Process) Hooks() int {
	n := 0
	for sw := range p.switches {
		n += sw.hooks.len()
	}
	return n
}

// PeakHooks returns the largest any switch's hook stack has been since
// the process started.
func (p *Process) PeakHooks() int { return p.peakHooks }

// LogTimeLayout is the layout of a log line's timestamp (JB4): UTC, with a
// dot before the seconds.
const LogTimeLayout = "2006-01-02 15:04.05"

// stamp prefixes msg with the current virtual time, as a log line is.
func (p *Process) stamp(msg string) string {
	var buf [64]byte
	return string(append(appendLineStamp(buf[:0], p.Sim.Now().Unix()), msg...))
}

// stampLen is the length of the stamp of a line written now, worked out
// once per virtual second.
func (p *Process) stampLen() int {
	if sec := p.Sim.Now().Unix(); sec != p.stampSec || p.stampN == 0 {
		var buf [64]byte
		p.stampSec, p.stampN = sec, len(appendLineStamp(buf[:0], sec))
	}
	return p.stampN
}

// appendLineStamp appends the stamp of a log line written in the Unix
// second sec: the time in LogTimeLayout, then ": ".
func appendLineStamp(b []byte, sec int64) []byte {
	return append(appendStamp(b, time.Unix(sec, 0), ' ', ":", "."), ": "...)
}

// appendStamp appends t in UTC as the date, sep, then hours, minutes and
// seconds with hm between the first two and ms between the last two:
// LogTimeLayout is appendStamp(b, t, ' ', ":", "."), a job id's
// "2006-01-02/150405" appendStamp(b, t, '/', "", ""). It does what
// time.Format does with those layouts, digit by digit.
func appendStamp(b []byte, t time.Time, sep byte, hm, ms string) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, sep)
	b = appendDigits(b, hour, 2)
	b = append(b, hm...)
	b = appendDigits(b, minute, 2)
	b = append(b, ms...)
	return appendDigits(b, second, 2)
}

// appendDigits appends n in decimal, zero padded to at least width
// digits, with a minus sign first if it is negative, as time.Format
// writes the numbers of a date.
func appendDigits(b []byte, n, width int) []byte {
	u := uint64(n)
	if n < 0 {
		b = append(b, '-')
		u = uint64(-n)
	}
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	for range width - (len(digits) - i) {
		b = append(b, '0')
	}
	return append(b, digits[i:]...)
}

// poolLines are the lines StartWith logs about a pool, made once per
// pool label rather than at every wait.
type poolLines struct {
	waiting string // "Waiting for resource in pool <label>"
	got     string // "Got resource from pool <label>"
}

func (p *Process) poolLines(label string) *poolLines {
	l, ok := p.lines[label]
	if !ok {
		l = &poolLines{
			waiting: "Waiting for resource in pool " + label,
			got:     "Got resource from pool " + label,
		}
		if p.lines == nil {
			p.lines = map[string]*poolLines{}
		}
		p.lines[label] = l
	}
	return l
}

// newJobID draws an id of the form YYYY-MM-DD/HHMMSS-<label>-XXXXXX (JB2).
// The real log file is created exclusively, so a name already in use is
// drawn again.
func (p *Process) newJobID(label string) string {
	ids := p.Sim.Stream("job-ids")
	now := p.Sim.Now()
	if sec := now.Unix(); sec != p.idSec || len(p.idBuf) == 0 {
		p.idSec = sec
		p.idBuf = appendStamp(p.idBuf[:0], now, '/', "", "")
	}
	var buf [64]byte
	b := append(buf[:0], p.idBuf...)
	b = append(b, '-')
	b = append(b, label...)
	b = append(b, '-')
	prefix := len(b)
	for {
		b = appendHex6(b[:prefix], ids.Uint32N(1<<24))
		if _, taken := p.jobs[string(b)]; !taken {
			return string(b)
		}
	}
}

// appendHex6 appends n, below 1<<24, as six lower-case hexadecimal
// digits, as %06x prints it.
func appendHex6(b []byte, n uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 20; shift >= 0; shift -= 4 {
		b = append(b, digits[n>>uint(shift)&0xf])
	}
	return b
}

// OpenJobs returns the jobs in the table, sorted by id as /jobs lists them.
func (p *Process) OpenJobs() []*Job {
	out := make([]*Job, 0, len(p.jobs))
	for _, j := range p.jobs {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b *Job) int { return strings.Compare(a.id, b.id) })
	return out
}

// ErrProcessStopped is the failure of anything the process is asked to do
// after it stopped.
var ErrProcessStopped = errors.New("process stopped")

// Stop is the process exiting, as before a restart (F14): the jobs table
// is gone with the process, without any job being closed, so their log
// files stay on disk; every connection to a scheduler drops, releasing
// the process's tickets and breaking its handles; and whatever the
// process's code still had in flight can neither create a job nor reach
// the scheduler again. The work of the old process stays in the model
// only as objects nothing observes.
func (p *Process) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.cleared = len(p.jobs)
	clear(p.jobs)
	p.gauge = 0
	for _, c := range p.connections {
		c.Disconnect()
	}
}

// Stopped reports whether the process has stopped.
func (p *Process) Stopped() bool { return p.stopped }

// Cleared returns how many jobs were in the table when the process
// stopped.
func (p *Process) Cleared() int { return p.cleared }

// EventKind is what an Event records.
type EventKind int

const (
	// JobCreated: a job entered the table, ready. Job and Label are set.
	JobCreated EventKind = iota
	// JobStarted: a job got its start time.
	JobStarted
	// JobClosed: a job closed and left the table.
	JobClosed
	// ResourceGranted: a job's start_with got its pool's resource; Label
	// is the pool's.
	ResourceGranted
	// SwitchTurningOff: a switch began to turn off; Label is the switch's.
	SwitchTurningOff
	// SwitchOff: a switch finished turning off.
	SwitchOff
)

// Event is one step of a job's or a switch's life, told to
// Process.Observe as it happens.
type Event struct {
	Kind  EventKind
	At    time.Duration // elapsed virtual time
	Job   string        // the job's id, for job events
	Label string        // the job's, pool's or switch's label
}

// observe tells the Observe hook about an event.
func (p *Process) observe(kind EventKind, job, label string) {
	if p.Observe != nil {
		p.Observe(Event{Kind: kind, At: p.Sim.Elapsed(), Job: job, Label: label})
	}
}
