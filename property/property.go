package property

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pgregory.net/rapid"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
)

// Property is the harness's property for one design: for every case drawn
// (a workload and a plan of faults of the model), the run, healed and
// drained, keeps every check of the ledger after every event and ends
// with every job closed and every resource back.
type Property struct {
	Design string
	Faults FaultModel
	// Checks are the ledger's checks; none means all of them.
	Checks ledger.Checks
	// Logs are the log modes cases draw from; none means both.
	Logs []model.LogMode
	// Record, if set, is told of each failing case in turn: the first is
	// the one rapid found, the last the one it shrank that to.
	Record func(*Failure)
}

// Seed is the simulator's seed of every generated case. The case's draws
// make the workload; the seed only names its jobs.
const Seed = 1

// Check runs one case. On a violation it saves the case, so that simrun
// --replay runs it again, and fails t with the first violation, the case
// and the command that replays it.
func (p Property) Check(t *rapid.T) {
	c := drawCase(t, p.Faults, p.Logs)
	params := p.params(c)
	rep, err := scenarios.Execute(params, c.Workload)
	if err == nil && len(rep.Ledger) == 0 {
		return
	}
	f := &Failure{Name: t.Name(), Case: c, Params: params}
	if err != nil {
		f.Err = err
	} else {
		f.Violations = rep.Ledger
	}
	f.save()
	if p.Record != nil {
		p.Record(f)
	}
	t.Fatal(f.Message())
}

func (p Property) params(c Case) scenarios.Params {
	checks := p.Checks
	if checks == 0 {
		checks = ledger.All
	}
	return scenarios.Params{
		Scenario: "property", Design: p.Design, Seed: Seed, Duration: Window,
		Faults: c.Faults, LogMode: c.LogMode, Checks: checks,
	}
}

// Failure is a case that broke a property.
type Failure struct {
	Name       string // the test's name
	Case       Case
	Params     scenarios.Params
	Violations []ledger.Violation
	Err        error // the run's error, if it could not end
	// File is where the case was saved, or empty if it could not be;
	// SaveErr says why.
	File    string
	SaveErr error
}

// CaseFile returns the case as simrun --replay reads it.
func (f *Failure) CaseFile() scenarios.Case {
	c := scenarios.NewCase(f.Params, f.Case.Workload)
	c.Comment = "a failing case of " + f.Name
	return c
}

// CaseDir is the directory under the system's temporary directory where
// failing cases are saved, one file per test, the last failure (the
// shrunk case) overwriting the earlier ones.
var CaseDir = filepath.Join(os.TempDir(), "jobsim-cases")

// save writes the case to CaseDir, named after the test.
func (f *Failure) save() {
	var b bytes.Buffer
	if err := scenarios.WriteCase(&b, f.CaseFile()); err != nil {
		f.SaveErr = err
		return
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, f.Name)
	if name == "" {
		name = "property"
	}
	path := filepath.Join(CaseDir, name+".json")
	if err := writeFile(path, b.Bytes()); err != nil {
		f.SaveErr = err
		return
	}
	f.File = path
}

// writeFile writes data to path whole or not at all: to a file beside it
// first, then renamed, so that a reader never sees it half written.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".case-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Replay returns the simrun command line that replays the case.
func (f *Failure) Replay() string {
	if f.File == "" {
		return fmt.Sprintf("(the case could not be saved: %v)", f.SaveErr)
	}
	return "simrun --replay " + shellQuote(f.File)
}

// Message is the failure as a test prints it: the first violation, the
// case in short, and the command that replays it.
func (f *Failure) Message() string {
	var b strings.Builder
	switch {
	case f.Err != nil:
		fmt.Fprintf(&b, "run: %v\n", f.Err)
	default:
		n := len(f.Violations)
		fmt.Fprintf(&b, "ledger: %d %s, the first: %s\n", n, plural(n, "violation", "violations"), f.Violations[0])
	}
	fmt.Fprintf(&b, "case: design %s, seed %d, arrivals for %s, then healed and drained; %s\n",
		f.Params.Design, f.Params.Seed, fault.FormatDuration(f.Params.Duration), f.Case)
	fmt.Fprintf(&b, "replay: %s", f.Replay())
	return b.String()
}

// String writes the case in one line: its workload, its faults and its
// log mode.
func (c Case) String() string {
	var b strings.Builder
	solves := c.Workload.Solves()
	fmt.Fprintf(&b, "%d %s with %d %s", len(c.Workload), plural(len(c.Workload), "analysis", "analyses"),
		solves, plural(solves, "solve", "solves"))
	for _, a := range c.Workload {
		var ds []string
		for _, s := range a.Analysis.Solves {
			ds = append(ds, s.Kind+" "+fault.FormatDuration(s.Duration))
		}
		fmt.Fprintf(&b, "; +%s %s (%s)", fault.FormatDuration(a.At), a.Analysis.Repo, strings.Join(ds, ", "))
	}
	if len(c.Faults) == 0 {
		b.WriteString("; no faults")
	} else {
		fmt.Fprintf(&b, "; faults: %s", c.Faults)
	}
	if c.LogMode != 0 {
		fmt.Fprintf(&b, "; %s logs", c.LogMode)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
