package model

import "strconv"

// ResourceKind is a kind of resource the process takes on behalf of a
// job, as a Ledger is told of it.
type ResourceKind uint8

const (
	// ResJob is a job's place in the jobs table, with its rise of the
	// active-jobs gauge (JB3), given back when the job closes (JB15).
	ResJob ResourceKind = iota
	// ResJobHook is a job's completion hook on its switch (JB3), given
	// back when the switch's turn-off takes it from the stack (SW3).
	ResJobHook
	// ResHook is any other hook on a switch's stack, such as a Local
	// pool's cancel and release hooks (PL2, PL4), given back when the
	// turn-off takes it from the stack.
	ResHook
	// ResPoolSlot is a slot of a Local pool, from its grant to its
	// release (PL2).
	ResPoolSlot
	// ResPipeline is one of the OCluster plugin's pipeline slots, held
	// from Rate_limit until a worker is assigned or the wait ends (OC3).
	ResPipeline
	// ResTicket is a ticket waiting at the scheduler for a worker, until
	// a worker takes it or it is cancelled, released or failed (OC3, OC7).
	ResTicket
	// ResHandle is a capability handle to a remote job that the process
	// holds, until it is released (OC1, CI3).
	ResHandle
	// ResHandleRef is the worker's count of one handle's reference to
	// its job, until the handle is released or breaks (OC8).
	ResHandleRef
	// ResLogFD is a log descriptor held open from a job's creation to
	// its close, in Held mode (JB5).
	ResLogFD
	// ResSocket is the socket of a client streaming a job's log (JB6).
	ResSocket

	// NumResourceKinds is how many kinds there are.
	NumResourceKinds
)

var resourceNames = [...]string{
	"job", "completion hook", "hook", "pool slot", "pipeline slot",
	"ticket", "handle", "handle reference", "log descriptor", "socket",
}

func (k ResourceKind) String() string {
	if int(k) < len(resourceNames) {
		return resourceNames[k]
	}
	return "resource"
}

// Resource names one resource the process takes, for a Ledger.
type Resource struct {
	Kind ResourceKind
	// Key identifies this one resource among those of its kind, from
	// Acquire to Release: a pointer, or a number, the model keeps for it.
	Key any
	// Holder is what counts the resource, so that a ledger can check its
	// own count against the model's: the Process for jobs, handles and
	// descriptors, the LocalPool for a slot, the Switch for a hook, the
	// Connection for a ticket, a pipeline for its slots, the RemoteJob
	// for a handle's reference.
	Holder Holder
	// Detail tells apart resources of a kind in a report: a hook's
	// name, a ticket's action, the remote job of a handle. Release
	// leaves it empty.
	Detail string
}

// Name says what the resource is, for a report.
func (r Resource) Name() string {
	holder := "the process"
	if r.Holder != nil {
		holder = r.Holder.HolderName()
	}
	switch r.Kind {
	case ResJob:
		return "table entry"
	case ResJobHook:
		return "completion hook on " + holder
	case ResHook:
		return "hook " + strconv.Quote(r.Detail) + " on " + holder
	case ResPoolSlot:
		return "slot of " + holder
	case ResPipeline:
		return "slot of the " + holder
	case ResTicket:
		return "ticket for " + strconv.Quote(r.Detail) + " waiting at the scheduler"
	case ResHandle:
		return "handle to remote job " + r.Detail
	case ResHandleRef:
		return "worker's reference of a handle to " + holder
	case ResLogFD:
		return "log descriptor"
	case ResSocket:
		return "viewer's socket"
	}
	return r.Kind.String()
}

// Holder is a part of the model that holds resources and counts them.
type Holder interface {
	// Holds returns how many resources of kind the holder holds now, and
	// the most it may hold (0: no limit).
	Holds(kind ResourceKind) (n, limit int)
	// HolderName names the holder in a report.
	HolderName() string
}

// Ledger is told of every resource the process takes on behalf of a job,
// and of its return: jobs' table entries, switch hooks, Local pool
// slots, pipeline slots, tickets, handles and their references, held log
// descriptors and viewer sockets. A Ledger only observes; it changes
// nothing in the model.
//
// Process.Ledger is nil by default, and then each of those places costs
// one nil check. A ledger must be set on a new process, before its first
// job, so that it sees every acquisition; Process.Stop tells it nothing
// (what a stopped process held went with it), so a ledger is retired
// with its process.
//
// Acquire's job is the job the resource is taken for: the job whose
// start_with asked the pool, the job a hook was pushed for, the job a
// viewer streams. It is nil when the model was driven without a job, as
// tests do by calling a pool's Get directly.
type Ledger interface {
	Acquire(r Resource, job *Job)
	Release(r Resource)
}

// Census is the process's counters, cheap to read after every event.
type Census struct {
	Created int // jobs created
	Closed  int // jobs closed
	Table   int // jobs in the table
	Gauge   int // the active-jobs gauge
	Handles int // handles held and not released
	Viewers int // log streams open
	LogFDs  int // log descriptors open
	Sockets int // socket descriptors open
}

// Census returns the process's counters now.
func (p *Process) Census() Census {
	return Census{
		Created: p.created, Closed: p.closed, Table: len(p.jobs), Gauge: p.gauge,
		Handles: p.handles, Viewers: p.viewers,
		LogFDs: p.FDs.OpenOf(FDLog), Sockets: p.FDs.OpenOf(FDSocket),
	}
}

// Holds counts the process's own resources: the jobs in its table, the
// handles it holds, and its log and socket descriptors, limited by the
// descriptor table's limit less its base.
func (p *Process) Holds(kind ResourceKind) (n, limit int) {
	switch kind {
	case ResJob:
		return len(p.jobs), 0
	case ResHandle:
		return p.handles, 0
	case ResLogFD:
		return p.FDs.OpenOf(FDLog), p.FDs.Limit - p.FDs.Base
	case ResSocket:
		return p.FDs.OpenOf(FDSocket), p.FDs.Limit - p.FDs.Base
	}
	return 0, 0
}

// HolderName is "process".
func (p *Process) HolderName() string { return "process" }

// Holds counts the pool's slots in use, out of its capacity.
func (lp *LocalPool) Holds(kind ResourceKind) (n, limit int) {
	if kind != ResPoolSlot {
		return 0, 0
	}
	return lp.used, lp.capacity
}

// HolderName is `pool "<label>"`.
func (lp *LocalPool) HolderName() string { return "pool " + strconv.Quote(lp.label) }

// Holds counts the hooks on the switch's stack: its jobs' completion
// hooks (ResJobHook) and the others (ResHook).
func (sw *Switch) Holds(kind ResourceKind) (n, limit int) {
	switch kind {
	case ResJobHook:
		return sw.jobHooks, 0
	case ResHook:
		return sw.hooks.len() - sw.jobHooks, 0
	}
	return 0, 0
}

// HolderName is `switch "<label>"`.
func (sw *Switch) HolderName() string { return "switch " + strconv.Quote(sw.label) }

// Holds counts the connection's tickets that wait at the scheduler.
func (c *Connection) Holds(kind ResourceKind) (n, limit int) {
	if kind != ResTicket {
		return 0, 0
	}
	for _, t := range c.tickets {
		if t.state == ticketQueued {
			n++
		}
	}
	return n, 0
}

// HolderName is "scheduler connection".
func (c *Connection) HolderName() string { return "scheduler connection" }

// Holds counts the pipeline's slots in use, out of the connection's
// MaxPipeline.
func (pl *pipeline) Holds(kind ResourceKind) (n, limit int) {
	if kind != ResPipeline {
		return 0, 0
	}
	return pl.used, pl.conn.MaxPipeline
}

// HolderName names the pipeline's pool and urgency.
func (pl *pipeline) HolderName() string {
	if pl.key.urgent {
		return "pipeline of pool " + strconv.Quote(pl.key.pool) + " (urgent)"
	}
	return "pipeline of pool " + strconv.Quote(pl.key.pool)
}

// Holds counts the references to the remote job that its worker counts.
func (job *RemoteJob) Holds(kind ResourceKind) (n, limit int) {
	if kind != ResHandleRef {
		return 0, 0
	}
	return job.refs, 0
}

// HolderName is "remote job <worker>/<n>".
func (job *RemoteJob) HolderName() string { return "remote job " + job.id }

// account is whom a resource taken at the scheduler is recorded for: the
// ledger of the process that asked, and the job it asked for. Its zero
// value records nothing.
type account struct {
	ledger Ledger
	job    *Job
	conn   *Connection // the connection a ticket came through
}

func (a account) acquire(r Resource) {
	if a.ledger != nil {
		a.ledger.Acquire(r, a.job)
	}
}

func (a account) release(r Resource) {
	if a.ledger != nil {
		a.ledger.Release(r)
	}
}
