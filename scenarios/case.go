package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/model/ocamlci"
)

// Case is everything a run needs to be run again, byte for byte: what
// simrun --save-case writes and --replay reads, and what a failing
// property leaves behind. Durations are written as Go writes them
// ("1h30m"), the fault plan in the plan grammar.
//
// A case of a named scenario names it, and the scenario draws its
// workload from the seed and the duration. A case whose workload no
// scenario makes, such as one a property generated, carries the workload
// itself; its scenario only names it in the report.
type Case struct {
	Scenario string        `json:"scenario"`
	Design   string        `json:"design"`
	Seed     uint64        `json:"seed"`
	Duration string        `json:"duration"`
	Drain    string        `json:"drain"`
	LogMode  string        `json:"log_mode,omitempty"`
	Faults   *string       `json:"faults,omitempty"` // absent: no fault phase
	NoHeal   bool          `json:"no_heal,omitempty"`
	Ledger   []string      `json:"ledger,omitempty"` // the ledger's checks; none: no ledger
	Workload []CaseArrival `json:"workload,omitempty"`
	// Comment says where the case comes from; a replay ignores it.
	Comment string `json:"comment,omitempty"`
}

// CaseArrival is one analysis of a case's workload.
type CaseArrival struct {
	At     string      `json:"at"`
	Repo   string      `json:"repo"`
	Commit string      `json:"commit"`
	Solves []CaseSolve `json:"solves"`
}

// CaseSolve is one solve of an analysis.
type CaseSolve struct {
	Kind      string `json:"kind"`
	Duration  string `json:"duration"`
	Platforms int    `json:"platforms"`
}

// NewCase returns the case of a run with params p: of p's named scenario
// if work is nil, else of the workload work. Params.Faults is the plan
// the case replays with.
func NewCase(p Params, work Workload) Case {
	c := Case{
		Scenario: p.Scenario, Design: p.Design, Seed: p.Seed,
		Duration: fault.FormatDuration(p.Duration), Drain: fault.FormatDuration(orDrain(p.Drain)),
		NoHeal: p.NoHeal, Ledger: p.Checks.Names(),
	}
	if p.LogMode != model.Transient {
		c.LogMode = p.LogMode.String()
	}
	if p.Faults != nil {
		plan := p.Faults.String()
		c.Faults = &plan
	}
	for _, a := range work {
		ca := CaseArrival{At: fault.FormatDuration(a.At), Repo: a.Analysis.Repo, Commit: a.Analysis.Commit}
		for _, s := range a.Analysis.Solves {
			ca.Solves = append(ca.Solves, CaseSolve{Kind: s.Kind, Duration: fault.FormatDuration(s.Duration), Platforms: s.Platforms})
		}
		c.Workload = append(c.Workload, ca)
	}
	return c
}

func orDrain(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultDrain
	}
	return d
}

// Params returns the case's run parameters and, if the case carries one,
// its workload (nil for a named scenario's case).
func (c Case) Params() (Params, Workload, error) {
	p := Params{Scenario: c.Scenario, Design: c.Design, Seed: c.Seed, NoHeal: c.NoHeal}
	if err := CheckDesign(c.Design); err != nil {
		return p, nil, err
	}
	if c.Workload == nil {
		if _, err := Lookup(c.Scenario); err != nil {
			return p, nil, fmt.Errorf("%w; a case of another workload carries it", err)
		}
	}
	var err error
	if p.Duration, err = caseDuration("duration", c.Duration); err != nil {
		return p, nil, err
	}
	if p.Drain, err = caseDuration("drain", c.Drain); err != nil {
		return p, nil, err
	}
	if c.LogMode != "" {
		if p.LogMode, err = model.ParseLogMode(c.LogMode); err != nil {
			return p, nil, err
		}
	}
	if c.Faults != nil {
		if p.Faults, err = fault.Parse(*c.Faults); err != nil {
			return p, nil, err
		}
	}
	if p.Checks, err = ledger.ParseChecks(c.Ledger); err != nil {
		return p, nil, err
	}

	var work Workload
	for i, ca := range c.Workload {
		a := Arrival{Analysis: ocamlci.Analysis{Repo: ca.Repo, Commit: ca.Commit}}
		if a.At, err = caseDuration(fmt.Sprintf("workload[%d].at", i), ca.At); err != nil {
			return p, nil, err
		}
		if len(ca.Solves) == 0 {
			return p, nil, fmt.Errorf("workload[%d]: an analysis has at least one solve", i)
		}
		for k, cs := range ca.Solves {
			d, err := caseDuration(fmt.Sprintf("workload[%d].solves[%d].duration", i, k), cs.Duration)
			if err != nil {
				return p, nil, err
			}
			a.Analysis.Solves = append(a.Analysis.Solves, ocamlci.SolveRequest{Kind: cs.Kind, Duration: d, Platforms: cs.Platforms})
		}
		if i > 0 && a.At < work[i-1].At {
			return p, nil, fmt.Errorf("workload[%d]: arrivals must be in order of time", i)
		}
		work = append(work, a)
	}
	return p, work, nil
}

func caseDuration(field, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: want a duration such as 90s or 2h, got %q", field, s)
	}
	return d, nil
}

// RunCase runs the case: its scenario, or its own workload.
func RunCase(c Case) (*Report, error) {
	p, work, err := c.Params()
	if err != nil {
		return nil, err
	}
	if work == nil {
		return Run(p)
	}
	return Execute(p, work)
}

// ReadCase reads a case written by WriteCase. Unknown fields are an
// error, so that a misspelt field is not silently ignored.
func ReadCase(r io.Reader) (Case, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Case
	if err := dec.Decode(&c); err != nil {
		return Case{}, fmt.Errorf("read case: %w", err)
	}
	if c.Design == "" || c.Duration == "" {
		return Case{}, errors.New("read case: design and duration are required")
	}
	return c, nil
}

// WriteCase writes c as indented JSON.
func WriteCase(w io.Writer, c Case) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
