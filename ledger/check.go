package ledger

import (
	"fmt"
	"strings"

	"github.com/jobsim/jobsim/model"
)

// Check is one of the ledger's checks. Each covers the resources of one
// kind, or two closely tied kinds, in all three of its aspects: the
// ledger's count agrees with the model's after every event, no closed job
// holds one, and every one is given back by the end of the run.
type Check uint8

const (
	// Jobs covers the jobs' table entries and completion hooks. After
	// every event the active-jobs gauge, and the count of jobs created
	// less those closed, equal the table's size; at the end every job
	// that was created is closed.
	Jobs Check = iota
	// Hooks covers the other hooks on switches' stacks: after every
	// event each switch holds as many as the ledger counts.
	Hooks
	// PoolSlots covers Local pool slots: in use plus free equal the
	// capacity, and the pool counts as many in use as the ledger.
	PoolSlots
	// Pipeline covers the OCluster plugin's pipeline slots, as PoolSlots
	// does a pool's.
	Pipeline
	// Tickets covers tickets waiting at the scheduler.
	Tickets
	// Handles covers capability handles and the workers' counts of their
	// references, which must never fall below zero.
	Handles
	// LogFDs covers log descriptors: held ones (Held mode) are given back
	// when their job closes, and no transient one stays open across an
	// event.
	LogFDs
	// Sockets covers viewers' sockets; the count of viewers agrees with
	// the sockets open.
	Sockets

	numChecks
)

var checkNames = [numChecks]string{
	"jobs", "hooks", "pool-slots", "pipeline", "tickets", "handles", "log-fds", "sockets",
}

func (c Check) String() string {
	if c < numChecks {
		return checkNames[c]
	}
	return fmt.Sprintf("Check(%d)", int(c))
}

// checkOf is the check that covers each kind of resource.
var checkOf = [model.NumResourceKinds]Check{
	model.ResJob:       Jobs,
	model.ResJobHook:   Jobs,
	model.ResHook:      Hooks,
	model.ResPoolSlot:  PoolSlots,
	model.ResPipeline:  Pipeline,
	model.ResTicket:    Tickets,
	model.ResHandle:    Handles,
	model.ResHandleRef: Handles,
	model.ResLogFD:     LogFDs,
	model.ResSocket:    Sockets,
}

// ParseCheck returns the check called name.
func ParseCheck(name string) (Check, error) {
	for c, n := range checkNames {
		if n == name {
			return Check(c), nil
		}
	}
	return 0, fmt.Errorf("unknown ledger check %q (valid: %s)", name, strings.Join(checkNames[:], ", "))
}

// Checks is a set of checks. Its zero value holds none: a run with no
// checks keeps no ledger.
type Checks uint16

// All is every check.
const All Checks = 1<<numChecks - 1

// Of returns the set of the given checks.
func Of(cs ...Check) Checks {
	var s Checks
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in the set.
func (s Checks) Has(c Check) bool { return s&(1<<c) != 0 }

// Without returns the set less cs.
func (s Checks) Without(cs ...Check) Checks { return s &^ Of(cs...) }

// List returns the checks in the set, in their fixed order.
func (s Checks) List() []Check {
	var out []Check
	for c := Check(0); c < numChecks; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// Names returns the names of the checks in the set, in their fixed order.
func (s Checks) Names() []string {
	var out []string
	for _, c := range s.List() {
		out = append(out, c.String())
	}
	return out
}

func (s Checks) String() string {
	if s == All {
		return "all"
	}
	return strings.Join(s.Names(), ",")
}

// ParseChecks returns the set of the named checks.
func ParseChecks(names []string) (Checks, error) {
	var s Checks
	for _, n := range names {
		c, err := ParseCheck(n)
		if err != nil {
			return 0, err
		}
		s |= Of(c)
	}
	return s, nil
}
