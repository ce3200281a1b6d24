package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jobsim/jobsim/sim"
)

// Process is the simulated OCaml process that runs OCurrent: the global
// state that the real engine keeps in module-level values. It owns the
// jobs table shown on /jobs, the ocurrent_core_active_jobs gauge, the count of
// capability handles not yet released, and the process log (the engine's own warnings, kept
// apart from job logs).
type Process struct {
	Sim *sim.Sim

	jobs    map[string]*Job // the jobs table; only closing removes a job
	created int
	closed  int
	gauge   int
	plog    []string
	handles int // capabilities handed out and not yet released
}

// NewProcess returns a process with an empty jobs table, running on s.
func NewProcess(s *sim.Sim) *Process {
	return &Process{Sim: s, jobs: map[string]*Job{}}
}

// Warn appends a line to the process log, stamped like a job log line.
func (p *Process) Warn(format string, args ...any) {
	p.plog = append(p.plog, stamp(p.Sim.Now(), fmt.Sprintf(format, args...)))
}

// ProcessLog returns the process log's lines, oldest first.
func (p *Process) ProcessLog() []string { return slices.Clone(p.plog) }

// Gauge returns the ocurrent_core_active_jobs gauge.
func (p *Process) Gauge() int { return p.gauge }

// LogTimeLayout is the layout of a log line's timestamp (JB4): UTC, with a
// dot before the seconds.
const LogTimeLayout = "2006-01-02 15:04.05"

func stamp(t time.Time, msg string) string {
	return t.UTC().Format(LogTimeLayout) + ": " + msg
}

// newJobID draws an id of the form YYYY-MM-DD/HHMMSS-<label>-XXXXXX (JB2).
// The real log file is created exclusively, so a name already in use is
// drawn again.
func (p *Process) newJobID(label string) string {
	ids := p.Sim.Stream("job-ids")
	prefix := p.Sim.Now().UTC().Format("2006-01-02/150405") + "-" + label + "-"
	for {
		id := fmt.Sprintf("%s%06x", prefix, ids.Uint32N(1<<24))
		if _, taken := p.jobs[id]; !taken {
			return id
		}
	}
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
