package model

import (
	"errors"
	"fmt"
)

// LogMode says when a job's log file holds a descriptor (JB5).
type LogMode int

const (
	// Transient opens the log for append, writes and closes it on every
	// write, so a job holds no descriptor between writes. It is OCurrent's
	// behaviour since August 2022, and the default.
	Transient LogMode = iota
	// Held opens the log when the job is created and closes it when the
	// job closes, as OCurrent did before.
	Held
)

func (m LogMode) String() string {
	if m == Held {
		return "held"
	}
	return "transient"
}

// ParseLogMode parses "transient" or "held".
func ParseLogMode(s string) (LogMode, error) {
	switch s {
	case "transient":
		return Transient, nil
	case "held":
		return Held, nil
	}
	return 0, fmt.Errorf("unknown log mode %q (valid: transient, held)", s)
}

// FDKind is what a descriptor is open on.
type FDKind int

const (
	// FDLog is a job's log file.
	FDLog FDKind = iota
	// FDSocket is a client's connection, such as a viewer streaming a log.
	FDSocket
	fdKinds
)

func (k FDKind) String() string {
	if k == FDSocket {
		return "socket"
	}
	return "log"
}

// The errors of a descriptor table that is full and of a disk that is
// full, as the OCaml runtime words them.
var (
	ErrTooManyOpenFiles = errors.New("too many open files")
	ErrNoSpace          = errors.New("no space left on device")
)

// DefaultFDLimit is the usual soft limit on a process's descriptors.
const DefaultFDLimit = 1024

// FDTable is the simulated process's descriptor table. It counts
// descriptors by kind against a limit that includes Base, the descriptors
// the process holds whatever it does (standard streams, listening sockets,
// the database).
type FDTable struct {
	Limit int
	Base  int
	open  [fdKinds]int
	all   int // the sum of open
	peak  int
	peaks [fdKinds]int // the most of each kind open at once
}

// Open takes one descriptor of kind, or fails with ErrTooManyOpenFiles.
func (t *FDTable) Open(kind FDKind) error {
	if t.InUse() >= t.Limit {
		return ErrTooManyOpenFiles
	}
	t.open[kind]++
	t.all++
	t.peaks[kind] = max(t.peaks[kind], t.open[kind])
	if n := t.InUse(); n > t.peak {
		t.peak = n
	}
	return nil
}

// Close gives back one descriptor of kind. Closing more than was opened
// is a bug in the model and panics.
func (t *FDTable) Close(kind FDKind) {
	if t.open[kind] == 0 {
		panic("model: closing a " + kind.String() + " descriptor that is not open")
	}
	t.open[kind]--
	t.all--
}

// InUse returns how many descriptors are open, Base included.
func (t *FDTable) InUse() int { return t.Base + t.all }

// OpenOf returns how many descriptors of kind are open.
func (t *FDTable) OpenOf(kind FDKind) int { return t.open[kind] }

// PeakOf returns the most descriptors of kind that were open at once.
func (t *FDTable) PeakOf(kind FDKind) int { return t.peaks[kind] }

// Peak returns the most descriptors that were open at once, Base
// included.
func (t *FDTable) Peak() int { return max(t.peak, t.Base) }

// Disk is the space job logs may use. A zero Budget means unlimited.
type Disk struct {
	Budget int64
	Used   int64
}

// take reserves n bytes, or fails with ErrNoSpace and takes nothing.
func (d *Disk) take(n int64) error {
	if d.Budget > 0 && d.Used+n > d.Budget {
		return ErrNoSpace
	}
	d.Used += n
	return nil
}

// full reports whether not even an empty file can be created.
func (d *Disk) full() bool { return d.Budget > 0 && d.Used >= d.Budget }
