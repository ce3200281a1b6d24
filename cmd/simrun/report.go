package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
)

// jsonReport is the JSON form of a run, one object.
type jsonReport struct {
	Scenario  string          `json:"scenario"`
	Design    string          `json:"design"`
	Seed      uint64          `json:"seed"`
	Start     time.Time       `json:"start"`
	End       time.Time       `json:"end"`
	Duration  string          `json:"duration"`
	Drain     string          `json:"drain"`
	Drained   bool            `json:"drained"`
	Died      string          `json:"died,omitempty"`
	Events    uint64          `json:"events"`
	Analyses  jsonAnalyses    `json:"analyses"`
	Solves    int             `json:"solves"`
	Jobs      jsonJobCounts   `json:"jobs"`
	Gauge     int             `json:"active_jobs_gauge"`
	Handles   int             `json:"handles_held"`
	PeakHooks int             `json:"peak_hooks"`
	FDs       jsonFDs         `json:"fds"`
	Latency   jsonLatency     `json:"analysis_latency"`
	OpenJobs  []jsonJob       `json:"open_jobs"`
	Invariant jsonInvariant   `json:"invariant"`
	Repro     string          `json:"repro"`
	Process   []string        `json:"process_log"`
	Switches  []jsonSwitchRow `json:"switches"`
	Findings  []jsonFinding   `json:"findings"`
	Faults    *jsonFaults     `json:"faults,omitempty"`
	Ledger    *jsonLedger     `json:"ledger,omitempty"`
}

// jsonLedger is what the resource ledger found, in a run that kept one.
type jsonLedger struct {
	Checks     []string     `json:"checks"`
	Holds      bool         `json:"holds"`
	Violations []jsonBreach `json:"violations"`
}

type jsonBreach struct {
	Check     string `json:"check"`
	Resource  string `json:"resource"`
	Job       string `json:"job,omitempty"`
	TakenAt   string `json:"taken_at,omitempty"`
	TakenStep uint64 `json:"taken_step,omitempty"`
	Breach    string `json:"breach"`
	SeenAt    string `json:"seen_at"`
	SeenStep  uint64 `json:"seen_step"`
	Text      string `json:"text"`
}

type jsonFinding struct {
	Job     string `json:"job"`
	Label   string `json:"label"`
	State   string `json:"state"`
	Class   string `json:"class"`
	WaitsOn string `json:"waits_on"`
	Cause   string `json:"cause,omitempty"`
}

type jsonFaults struct {
	Replay     string         `json:"replay"`
	Fired      []jsonFiring   `json:"fired"`
	Sites      map[string]int `json:"site_passes"`
	Kinds      map[string]int `json:"kinds_fired"`
	NeverFired []string       `json:"never_fired"`
	Restarts   int            `json:"restarts"`
	Cleared    int            `json:"cleared_by_restarts"`
}

type jsonFiring struct {
	At     string `json:"at"`
	Step   uint64 `json:"step"`
	Fault  string `json:"fault"`
	Pass   int    `json:"pass,omitempty"`
	Detail string `json:"detail,omitempty"`
	Job    string `json:"job,omitempty"`
}

type jsonAnalyses struct {
	Arrived      int    `json:"arrived"`
	Succeeded    int    `json:"succeeded"`
	Failed       int    `json:"failed"`
	Unfinished   int    `json:"unfinished"`
	FirstFailure string `json:"first_failure,omitempty"`
}

// jsonFDs is the descriptor table at the end of a run.
type jsonFDs struct {
	Limit   int `json:"limit"`
	InUse   int `json:"in_use"`
	Peak    int `json:"peak"`
	Log     int `json:"log"`
	LogPeak int `json:"log_peak"`
	Sockets int `json:"viewer_sockets"`
}

// jsonLatency is the virtual time from an analysis's arrival to its
// result, over the analyses that finished; in milliseconds.
type jsonLatency struct {
	Finished int   `json:"finished"`
	P50      int64 `json:"p50_ms"`
	P99      int64 `json:"p99_ms"`
}

type jsonJobCounts struct {
	Created int `json:"created"`
	Solver  int `json:"solver_jobs_created"`
	Closed  int `json:"closed"`
	Open    int `json:"open"`
	Running int `json:"running"`
	Ready   int `json:"ready"`
}

type jsonJob struct {
	ID     string     `json:"id"`
	Label  string     `json:"label"`
	State  string     `json:"state"`
	Start  *time.Time `json:"start,omitempty"`
	Switch string     `json:"switch"`
	Log    []string   `json:"log"`
}

type jsonSwitchRow struct {
	Label string `json:"label"`
	State string `json:"state"`
	Hooks int    `json:"hooks"`
	Peak  int    `json:"peak_hooks"`
}

type jsonInvariant struct {
	Holds      bool            `json:"holds"`
	Violations []jsonViolation `json:"violations"`
}

type jsonViolation struct {
	Job      string `json:"job"`
	State    string `json:"state,omitempty"`
	Switch   string `json:"switch,omitempty"`
	LastLine string `json:"last_line,omitempty"`
	Reason   string `json:"reason"`
}

func writeJSON(w io.Writer, rep *scenarios.Report, cmdline string) error {
	snap := rep.Snapshot
	running, ready := countStates(snap)
	out := jsonReport{
		Scenario: rep.Params.Scenario, Design: rep.Params.Design, Seed: rep.Params.Seed,
		Start: rep.Start, End: rep.End,
		Duration: fault.FormatDuration(rep.Params.Duration), Drain: fault.FormatDuration(rep.Params.Drain),
		Drained: rep.Drained, Died: rep.Died, Events: rep.Events,
		Analyses: jsonAnalyses(rep.Analyses), Solves: rep.Solves,
		Jobs: jsonJobCounts{Created: snap.Created, Solver: snap.CreatedOf[solverJob],
			Closed: snap.Closed, Open: len(snap.Jobs), Running: running, Ready: ready},
		Gauge: snap.Gauge, Handles: snap.Handles, PeakHooks: snap.PeakHooks,
		FDs: jsonFDs{Limit: snap.FDs.Limit, InUse: snap.FDs.InUse, Peak: snap.FDs.Peak,
			Log: snap.FDs.Log, LogPeak: snap.FDs.LogPeak, Sockets: snap.FDs.Sockets},
		Latency: jsonLatency{Finished: len(rep.Latency),
			P50: rep.LatencyPercentile(0.5).Milliseconds(), P99: rep.LatencyPercentile(0.99).Milliseconds()},
		OpenJobs:  []jsonJob{},
		Invariant: jsonInvariant{Holds: rep.Verdict.Holds, Violations: []jsonViolation{}},
		Repro:     cmdline,
		Process:   append([]string{}, snap.ProcessLog...),
		Switches:  []jsonSwitchRow{},
	}
	for _, j := range snap.Jobs {
		row := jsonJob{ID: j.ID, Label: j.Label, State: j.State.String(), Switch: j.Switch, Log: j.Log}
		if j.State == model.Running {
			start := j.Start
			row.Start = &start
		}
		out.OpenJobs = append(out.OpenJobs, row)
	}
	for _, sw := range snap.Switches {
		out.Switches = append(out.Switches, jsonSwitchRow{
			Label: sw.Label, State: sw.State.String(), Hooks: len(sw.Hooks), Peak: sw.Peak})
	}
	for _, v := range rep.Verdict.Violations {
		out.Invariant.Violations = append(out.Invariant.Violations, jsonViolation{
			Job: v.Job, State: v.State, Switch: v.Switch, LastLine: v.LastLine, Reason: v.Reason})
	}
	out.Findings = []jsonFinding{}
	for _, f := range rep.Findings {
		out.Findings = append(out.Findings, jsonFinding(f))
	}
	if fr := rep.Faults; fr != nil {
		jf := &jsonFaults{
			Replay: fr.Replay.String(), Fired: []jsonFiring{}, Sites: map[string]int{}, Kinds: map[string]int{},
			NeverFired: append([]string{}, fr.Coverage.NeverFired...), Restarts: fr.Restarts, Cleared: fr.Cleared,
		}
		for _, f := range fr.Trace {
			jf.Fired = append(jf.Fired, jsonFiring{
				At: fault.FormatDuration(f.At), Step: f.Step, Fault: f.Fault.String(), Pass: f.Pass, Detail: f.Detail, Job: f.Job,
			})
		}
		for _, sc := range fr.Coverage.Sites {
			jf.Sites[sc.Site] = sc.Passes
		}
		for _, kc := range fr.Coverage.Kinds {
			jf.Kinds[kc.Kind] = kc.Fired
		}
		out.Faults = jf
	}
	if checks := rep.Params.Checks; checks != 0 {
		jl := &jsonLedger{Checks: checks.Names(), Holds: len(rep.Ledger) == 0, Violations: []jsonBreach{}}
		for _, v := range rep.Ledger {
			b := jsonBreach{Check: v.Check.String(), Resource: v.Resource, Job: v.Job, Breach: v.Breach,
				SeenAt: fault.FormatDuration(v.Seen.At), SeenStep: v.Seen.Step, Text: v.String()}
			if v.Taken != (ledger.Event{}) {
				b.TakenAt, b.TakenStep = fault.FormatDuration(v.Taken.At), v.Taken.Step
			}
			jl.Violations = append(jl.Violations, b)
		}
		out.Ledger = jl
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// solverJob is the label of remote_solve's placeholder job.
const solverJob = "solver-job"

func countStates(snap model.Snapshot) (running, ready int) {
	for _, j := range snap.Jobs {
		if j.State == model.Running {
			running++
		} else {
			ready++
		}
	}
	return running, ready
}

// writeText writes what an operator would see, for a person to read.
func writeText(w io.Writer, rep *scenarios.Report, limit int, cmdline string) error {
	var b strings.Builder
	p, snap := rep.Params, rep.Snapshot
	running, ready := countStates(snap)

	// Heading: what ran, over which virtual time.
	fmt.Fprintf(&b, "jobsim: scenario %s, design %s, seed %d\n", p.Scenario, p.Design, p.Seed)
	fmt.Fprintf(&b, "virtual time %s to %s (arrivals for %s, then drain up to %s); %d events\n",
		rep.Start.Format(time.DateTime), rep.End.Format(time.DateTime),
		fault.FormatDuration(p.Duration), fault.FormatDuration(p.Drain), rep.Events)
	if rep.Died != "" {
		fmt.Fprintf(&b, "the OCurrent process died: %s escaped to Lwt's async exception hook; the run stops here\n", rep.Died)
	} else if !rep.Drained {
		b.WriteString("drain: work was still pending when the drain ended\n")
	}

	// The /jobs page.
	fmt.Fprintf(&b, "\n/jobs: %d open\n", len(snap.Jobs))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for i, j := range snap.Jobs {
		if limit > 0 && i == limit {
			fmt.Fprintf(tw, "  … %d more (--limit 0 shows all)\n", len(snap.Jobs)-limit)
			break
		}
		status := "(ready to start)"
		if j.State == model.Running {
			status = j.Start.UTC().Format(time.TimeOnly)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", j.ID, j.Label, status)
	}
	tw.Flush()

	// The log of the first job left open.
	if len(snap.Jobs) > 0 {
		j := snap.Jobs[0]
		fmt.Fprintf(&b, "\nlog of %s:\n", j.ID)
		for _, line := range j.Log {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}

	// Counts.
	a := rep.Analyses
	fmt.Fprintf(&b, "\nanalyses: %d arrived, %d succeeded, %d failed, %d unfinished (%d solves planned)\n",
		a.Arrived, a.Succeeded, a.Failed, a.Unfinished, rep.Solves)
	if a.FirstFailure != "" {
		fmt.Fprintf(&b, "first analysis to fail: %s\n", a.FirstFailure)
	}
	since := ""
	if rep.Faults != nil && rep.Faults.Restarts > 0 {
		since = ", since the last restart"
	}
	fmt.Fprintf(&b, "jobs: %d created, %d closed, %d open (%d running, %d ready%s)\n",
		snap.Created, snap.Closed, len(snap.Jobs), running, ready, since)
	fmt.Fprintf(&b, "active-jobs gauge: %d; handles held: %d\n", snap.Gauge, snap.Handles)
	for _, sw := range snap.Switches {
		if len(sw.Hooks) > 1 {
			fmt.Fprintf(&b, "switch %q: %s, %d hooks on its stack\n", sw.Label, sw.State, len(sw.Hooks))
		}
	}

	writeFaults(&b, rep, limit)

	// The verdict.
	if rep.Verdict.Holds {
		b.WriteString("\ninvariant: holds: every job created was closed\n")
	} else {
		vs := rep.Verdict.Violations
		fmt.Fprintf(&b, "\ninvariant: VIOLATED: %s\n", plural(len(vs), "violation"))
		for i, v := range vs {
			if limit > 0 && i == limit {
				fmt.Fprintf(&b, "  … %d more\n", len(vs)-limit)
				break
			}
			fmt.Fprintf(&b, "  %s\n", v.String())
			if v.LastLine != "" {
				fmt.Fprintf(&b, "    last log line: %s\n", v.LastLine)
			}
		}
	}
	writeLedger(&b, rep, limit)
	fmt.Fprintf(&b, "\nreplay: %s\n", cmdline)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeLedger writes what the resource ledger found, if the run kept one.
func writeLedger(b *strings.Builder, rep *scenarios.Report, limit int) {
	checks := rep.Params.Checks
	if checks == 0 {
		return
	}
	fmt.Fprintf(b, "\nledger: checks %s, after every event and at the end: ", strings.Join(checks.Names(), ", "))
	if len(rep.Ledger) == 0 {
		b.WriteString("holds: every count agreed, everything taken was given back\n")
		return
	}
	fmt.Fprintf(b, "VIOLATED: %s\n", plural(len(rep.Ledger), "violation"))
	for i, v := range rep.Ledger {
		if limit > 0 && i == limit {
			fmt.Fprintf(b, "  … %d more\n", len(rep.Ledger)-limit)
			break
		}
		fmt.Fprintf(b, "  %s\n", v)
	}
}

// writeFaults writes what the faults did and what became of the jobs left
// open; nothing for a run without faults whose jobs all closed.
func writeFaults(b *strings.Builder, rep *scenarios.Report, limit int) {
	if fr := rep.Faults; fr != nil {
		fmt.Fprintf(b, "\nfaults: %d fired", len(fr.Trace))
		if fr.Restarts > 0 {
			fmt.Fprintf(b, "; %s cleared %s from the table, their logs left on disk",
				plural(fr.Restarts, "restart"), plural(fr.Cleared, "job"))
		}
		b.WriteString("\n")
		for i, f := range fr.Trace {
			if limit > 0 && i == limit {
				fmt.Fprintf(b, "  … %d more\n", len(fr.Trace)-limit)
				break
			}
			fmt.Fprintf(b, "  +%s  %s", fault.FormatDuration(f.At), f.Fault)
			if f.Detail != "" {
				fmt.Fprintf(b, "  (%s)", f.Detail)
			}
			b.WriteString("\n")
		}
		var sites []string
		for _, sc := range fr.Coverage.Sites {
			sites = append(sites, fmt.Sprintf("%s %d", sc.Site, sc.Passes))
		}
		fmt.Fprintf(b, "site passes: %s\n", strings.Join(sites, ", "))
		var fired []string
		for _, kc := range fr.Coverage.Kinds {
			if kc.Fired > 0 {
				fired = append(fired, fmt.Sprintf("%s %d", kc.Kind, kc.Fired))
			}
		}
		if len(fired) > 0 {
			fmt.Fprintf(b, "kinds fired: %s\n", strings.Join(fired, ", "))
		}
		fmt.Fprintf(b, "kinds that never fired: %s\n", strings.Join(fr.Coverage.NeverFired, ", "))
	}

	if rep.Faults == nil && len(rep.Findings) == 0 {
		return
	}
	leaked, hung := 0, 0
	for _, f := range rep.Findings {
		if f.Class == "leaked" {
			leaked++
		} else {
			hung++
		}
	}
	fmt.Fprintf(b, "\nopen jobs after the drain: %d leaked, %d hung\n", leaked, hung)
	for i, f := range rep.Findings {
		if limit > 0 && i == limit {
			fmt.Fprintf(b, "  … %d more\n", len(rep.Findings)-limit)
			break
		}
		fmt.Fprintf(b, "  %s  %s, %s; waits on %s", f.Job, f.State, f.Class, f.WaitsOn)
		if f.Cause != "" {
			fmt.Fprintf(b, "; fault: %s", f.Cause)
		}
		b.WriteString("\n")
	}
}

// plural writes n and the word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
