package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobsim/jobsim/check"
	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
)

// compareOptions are the flags of simrun compare.
type compareOptions struct {
	run     runOptions // the flags a single run shares
	designs []string
	seeds   string
	list    []uint64 // the seeds, parsed
	plot    string   // write a plot of the levels over time to this file
}

// maxSeeds bounds --seeds: a comparison's time, not its answer, grows
// past it.
const maxSeeds = 1_000

func newCompareCommand(stdout io.Writer) *cobra.Command {
	var o compareOptions
	cmd := &cobra.Command{
		Use:   "compare --scenario S [flags]",
		Short: "Run every design on the same seeds and print one table, a column per design",
		Long: `simrun compare runs a scenario under several designs of remote_solve, on
the same seeds, with the same faults and the same workload: only the design
differs. It prints one table with a column per design.

Counts of things (analyses, jobs, findings, handles, sockets, failing seeds)
are summed over the seeds; levels measured against a limit (descriptors, the
hook stack, the gauge) are the worst seed's, the maximum; latencies are the
mean over the seeds of each seed's percentile, in virtual time from an
analysis's arrival to its result. Each row's label says which.

The default seeds, 1-10, keep a comparison of the leak scenario to a few
seconds.

Exit status: 0 whenever the comparison ran, whatever the designs did; it
reports, it does not judge (a single run's exit status does). 2 for bad
usage, 3 when a run spends its event budget.`,
		Example: `  simrun compare --scenario leak
  simrun compare --scenario leak --seeds 1-100 --format markdown
  simrun compare --scenario leak --log-mode held --duration 168h --seeds 1
  simrun compare --scenario leak --faults 'viewer@running:"solver-job" always'`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd.Flags().Changed); err != nil {
				return err
			}
			return runCompare(stdout, o)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	f := cmd.Flags()
	r := &o.run
	f.StringVar(&r.scenario, "scenario", "leak", "scenario to run (see 'simrun list')")
	f.StringSliceVar(&o.designs, "designs", []string{"module", "per-call", "local"}, "designs to compare, one column each, in this order")
	f.StringVar(&o.seeds, "seeds", "1-10", "seeds to run each design on: a range 1-100, a list 1,2,5, or both 1-3,7")
	f.DurationVar(&r.duration, "duration", 0, "virtual time during which work arrives (default: the scenario's, 72h for leak)")
	f.DurationVar(&r.drain, "drain", scenarios.DefaultDrain, "virtual time outstanding work gets to finish after arrivals stop")
	f.Uint64Var(&r.maxEvents, "max-events", scenarios.DefaultMaxEvents, "stop with exit status 3 when a run takes more events than this")
	f.StringVar(&r.format, "format", "text", "output format: text, json or markdown")
	f.StringVar(&r.faults, "faults", "", "fault plan, as for a single run; replaces a scenario's own plan")
	f.StringVar(&r.logMode, "log-mode", "transient", "how job logs hold descriptors: transient or held")
	f.StringVar(&r.logMode, "log-fds", "transient", "the same as --log-mode")
	f.StringVar(&o.plot, "plot", "", "also plot open jobs, descriptors and hook stacks over virtual time, of the first seed, to `FILE` (.svg or .png)")
	return cmd
}

// validate checks the flags; changed reports whether a flag was given.
func (o *compareOptions) validate(changed func(string) bool) error {
	r := &o.run
	if r.format != "text" && r.format != "json" && r.format != "markdown" {
		return usageError{fmt.Errorf("unknown format %q (valid: text, json, markdown)", r.format)}
	}
	if r.maxEvents == 0 {
		return usageError{errors.New("--max-events must be at least 1")}
	}
	if len(o.designs) == 0 {
		return usageError{errors.New("--designs needs at least one design")}
	}
	for i, d := range o.designs {
		if err := scenarios.CheckDesign(d); err != nil {
			return usageError{fmt.Errorf("--designs: %w", err)}
		}
		if slices.Contains(o.designs[:i], d) {
			return usageError{fmt.Errorf("--designs: %s given twice", d)}
		}
	}
	if changed("log-mode") && changed("log-fds") {
		return usageError{errors.New("give --log-mode or --log-fds, not both")}
	}
	if _, err := model.ParseLogMode(r.logMode); err != nil && changed("log-fds") {
		return usageError{fmt.Errorf("--log-fds: %w", err)}
	}
	seeds, err := parseSeeds(o.seeds)
	if err != nil {
		return usageError{fmt.Errorf("--seeds: %w", err)}
	}
	o.list = seeds
	if err := checkPlotFile(o.plot, changed("plot")); err != nil {
		return err
	}

	// The checks a single run makes, for the first design.
	r.design = o.designs[0]
	if err := r.validateRun(changed); err != nil {
		return err
	}
	r.params = scenarios.Params{
		Scenario: r.scenario, Duration: r.duration, Drain: r.drain, MaxEvents: r.maxEvents,
		Faults: r.plan, Random: r.random, LogMode: r.mode,
	}
	if r.params.Duration == 0 {
		sc, _ := scenarios.Lookup(r.scenario) // checked by validateRun
		r.params.Duration = sc.Duration
	}
	return nil
}

// parseSeeds parses a list of seeds and ranges of seeds, such as
// "1-3,7". A seed may be given once only.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a seed or a range of seeds like 1-10", part)
		}
		last := first
		if isRange {
			if last, err = strconv.ParseUint(hi, 10, 64); err != nil || last < first {
				return nil, fmt.Errorf("%q is not a range of seeds like 1-10", part)
			}
		}
		if last-first >= maxSeeds || len(out)+int(last-first) >= maxSeeds {
			return nil, fmt.Errorf("at most %d seeds", maxSeeds)
		}
		for seed := first; ; seed++ {
			if slices.Contains(out, seed) {
				return nil, fmt.Errorf("seed %d given twice", seed)
			}
			out = append(out, seed)
			if seed == last {
				break
			}
		}
	}
	return out, nil
}

// column is what one design did over every seed.
type column struct {
	Design       string  `json:"design"`
	Seeds        int     `json:"seeds"`
	Events       uint64  `json:"events"`
	Succeeded    int     `json:"analyses_succeeded"`
	Failed       int     `json:"analyses_failed"`
	Unfinished   int     `json:"analyses_unfinished"`
	SolverJobs   int     `json:"solver_jobs_created"`
	Running      int     `json:"jobs_open_running"`
	Ready        int     `json:"jobs_open_ready"`
	Hung         int     `json:"hung"`
	Handles      int     `json:"handles_leaked"`
	Sockets      int     `json:"viewer_sockets_open"`
	LogFDs       int     `json:"log_fds_open_max"`
	LogFDsPeak   int     `json:"log_fds_peak_max"`
	FDsPeak      int     `json:"fds_peak_max"`
	FDLimit      int     `json:"fd_limit"`
	HooksPeak    int     `json:"hook_stack_peak_max"`
	Gauge        int     `json:"active_jobs_gauge_max"`
	P50          int64   `json:"latency_p50_ms_mean"`
	P99          int64   `json:"latency_p99_ms_mean"`
	Failing      int     `json:"failing_seeds"`
	Died         int     `json:"process_died"`
	Cleared      int     `json:"jobs_cleared_by_restarts"`
	FirstFailing *uint64 `json:"first_failing_seed"` // null when no seed fails
	Replay       string  `json:"first_failing_replay,omitempty"`
}

// add adds one seed's run to the column; p50 and p99 are summed, to be
// divided by the number of seeds at the end.
func (c *column) add(rep *scenarios.Report) {
	snap := rep.Snapshot
	running, ready := countStates(snap)
	c.Seeds++
	c.Events += rep.Events
	c.Succeeded += rep.Analyses.Succeeded
	c.Failed += rep.Analyses.Failed
	c.Unfinished += rep.Analyses.Unfinished
	c.SolverJobs += snap.CreatedOf[solverJob]
	c.Running += running
	c.Ready += ready
	for _, f := range rep.Findings {
		if f.Class == check.Hung {
			c.Hung++
		}
	}
	c.Handles += snap.Handles
	c.Sockets += snap.FDs.Sockets
	c.LogFDs = max(c.LogFDs, snap.FDs.Log)
	c.LogFDsPeak = max(c.LogFDsPeak, snap.FDs.LogPeak)
	c.FDsPeak = max(c.FDsPeak, snap.FDs.Peak)
	c.FDLimit = snap.FDs.Limit
	c.HooksPeak = max(c.HooksPeak, snap.PeakHooks)
	c.Gauge = max(c.Gauge, snap.Gauge)
	c.P50 += rep.LatencyPercentile(0.5).Milliseconds()
	c.P99 += rep.LatencyPercentile(0.99).Milliseconds()
	if rep.Died != "" {
		c.Died++
	}
	if rep.Faults != nil {
		c.Cleared += rep.Faults.Cleared
	}
	if !rep.Holds() {
		if c.Failing == 0 {
			seed := rep.Params.Seed
			c.FirstFailing, c.Replay = &seed, repro(rep)
		}
		c.Failing++
	}
}

// meanOver rounds sum/n to the nearest integer.
func meanOver(sum int64, n int) int64 {
	return int64(math.Round(float64(sum) / float64(n)))
}

// comparison is the whole table, as JSON prints it.
type comparison struct {
	Scenario string   `json:"scenario"`
	Seeds    []uint64 `json:"seeds"`
	Duration string   `json:"duration"`
	Drain    string   `json:"drain"`
	LogMode  string   `json:"log_mode"`
	Faults   string   `json:"faults,omitempty"`
	Columns  []column `json:"designs"`
}

// runCompare runs every design on every seed, two runs at a time per
// core, and writes the table. The runs share nothing, and each result
// goes to its own slot, so the table does not depend on their order.
func runCompare(w io.Writer, o compareOptions) error {
	type job struct{ d, s int }
	reps := make([][]*scenarios.Report, len(o.designs))
	errs := make([][]error, len(o.designs))
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers() {
		wg.Go(func() {
			for j := range jobs {
				p := ownFaults(o.run.params)
				p.Design, p.Seed = o.designs[j.d], o.list[j.s]
				p.SampleEvery = o.sampleEvery(j.s)
				reps[j.d][j.s], errs[j.d][j.s] = scenarios.Run(p)
			}
		})
	}
	for d := range o.designs {
		reps[d] = make([]*scenarios.Report, len(o.list))
		errs[d] = make([]error, len(o.list))
	}
	for d := range o.designs {
		for s := range o.list {
			jobs <- job{d, s}
		}
	}
	close(jobs)
	wg.Wait()

	// The first error in table order, so that it too is deterministic.
	for d := range o.designs {
		for s, err := range errs[d] {
			if errors.Is(err, scenarios.ErrBudget) {
				p := o.run.params
				p.Design, p.Seed = o.designs[d], o.list[s]
				return fmt.Errorf("%w; replay: %s", err, repro(&scenarios.Report{Params: p}))
			}
			if err != nil {
				return err
			}
		}
	}

	cmp := comparison{
		Scenario: o.run.scenario, Seeds: o.list,
		Duration: fault.FormatDuration(o.run.params.Duration), Drain: fault.FormatDuration(o.run.params.Drain),
		LogMode: o.run.mode.String(),
	}
	if p := o.run.params; p.Faults != nil || p.Random != nil {
		cmp.Faults = givenFaults(p)
	}
	for d, design := range o.designs {
		c := column{Design: design}
		for _, rep := range reps[d] {
			c.add(rep)
		}
		c.P50, c.P99 = meanOver(c.P50, c.Seeds), meanOver(c.P99, c.Seeds)
		cmp.Columns = append(cmp.Columns, c)
	}

	if o.plot != "" {
		if err := writePlot(o.plot, plotTitle(cmp), firstSeed(o.designs, reps)); err != nil {
			return err
		}
	}

	switch o.run.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cmp)
	case "markdown":
		return writeMarkdown(w, cmp)
	}
	return writeCompareText(w, cmp)
}

// sampleEvery is how often the run of the s-th seed samples its levels:
// only the first seed's, and only for a plot.
func (o compareOptions) sampleEvery(s int) time.Duration {
	if o.plot == "" || s != 0 {
		return 0
	}
	return sampleInterval(o.run.params.Duration + o.run.params.Drain)
}

// ownFaults gives p a copy of its fault plans: a run draws its random
// faults' state into the plan it is given, so two runs must not share
// one.
func ownFaults(p scenarios.Params) scenarios.Params {
	var err error
	if p.Random != nil {
		p.Random, err = fault.ParseRandom(p.Random.String())
	}
	if err == nil && p.Faults != nil {
		p.Faults, err = fault.Parse(p.Faults.String())
		if p.Faults == nil {
			p.Faults = fault.Plan{} // an empty plan still replaces the scenario's
		}
	}
	if err != nil {
		panic("simrun: a printed fault plan does not parse again: " + err.Error())
	}
	return p
}

// workers is how many runs go at once.
func workers() int { return 2 }

// row is one line of the table: a label and a value per design.
type row struct {
	label string
	value func(c column) string
}

// rows are the table's lines, in order.
var rows = []row{
	{"analyses succeeded (sum)", func(c column) string { return strconv.Itoa(c.Succeeded) }},
	{"analyses failed (sum)", func(c column) string { return strconv.Itoa(c.Failed) }},
	{"analyses unfinished (sum)", func(c column) string { return strconv.Itoa(c.Unfinished) }},
	{"analysis latency p50 (mean of seeds)", func(c column) string { return msString(c.P50) }},
	{"analysis latency p99 (mean of seeds)", func(c column) string { return msString(c.P99) }},
	{"solver-jobs created (sum)", func(c column) string { return strconv.Itoa(c.SolverJobs) }},
	{"jobs left open: running (sum)", func(c column) string { return strconv.Itoa(c.Running) }},
	{"jobs left open: ready (sum)", func(c column) string { return strconv.Itoa(c.Ready) }},
	{"hung work, findings of class hung (sum)", func(c column) string { return strconv.Itoa(c.Hung) }},
	{"handles leaked (sum)", func(c column) string { return strconv.Itoa(c.Handles) }},
	{"viewer sockets open at the end (sum)", func(c column) string { return strconv.Itoa(c.Sockets) }},
	{"log descriptors open at the end (max)", func(c column) string { return strconv.Itoa(c.LogFDs) }},
	{"log descriptors open at peak (max)", func(c column) string { return strconv.Itoa(c.LogFDsPeak) }},
	{"descriptors in use at peak, of the limit (max)", func(c column) string {
		return fmt.Sprintf("%d / %d", c.FDsPeak, c.FDLimit)
	}},
	{"switch hook stack, peak size (max)", func(c column) string { return strconv.Itoa(c.HooksPeak) }},
	{"active-jobs gauge at the end (max)", func(c column) string { return strconv.Itoa(c.Gauge) }},
	{"runs where the process died (sum)", func(c column) string { return strconv.Itoa(c.Died) }},
	{"jobs cleared by restarts, never closed (sum)", func(c column) string { return strconv.Itoa(c.Cleared) }},
	{"events (sum)", func(c column) string { return strconv.FormatUint(c.Events, 10) }},
	{"seeds where the invariant fails (sum)", func(c column) string {
		return fmt.Sprintf("%d of %d", c.Failing, c.Seeds)
	}},
	{"first failing seed", func(c column) string {
		if c.Failing == 0 {
			return "-"
		}
		return strconv.FormatUint(*c.FirstFailing, 10)
	}},
}

// msString prints a whole number of milliseconds as a duration.
func msString(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).String()
}

// heading says what was compared, in one line.
func (cmp comparison) heading() string {
	var b strings.Builder
	fmt.Fprintf(&b, "simrun compare: scenario %s, %s (%s), arrivals for %s, drain up to %s, %s logs",
		cmp.Scenario, plural(len(cmp.Seeds), "seed"), seedsString(cmp.Seeds),
		cmp.Duration, cmp.Drain, cmp.LogMode)
	if cmp.Faults != "" {
		fmt.Fprintf(&b, ", faults %s", cmp.Faults)
	}
	return b.String()
}

// seedsString prints seeds as ranges, such as 1-10,12.
func seedsString(seeds []uint64) string {
	var parts []string
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.FormatUint(seeds[i], 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seeds[i], seeds[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// replays lists the replay command of each design's first failing seed,
// each line made by line(design, seed, command).
func (cmp comparison) replays(line func(string, uint64, string) string) []string {
	var out []string
	for _, c := range cmp.Columns {
		if c.Failing > 0 {
			out = append(out, line(c.Design, *c.FirstFailing, c.Replay))
		}
	}
	return out
}

// writeCompareText writes the table aligned in columns.
func writeCompareText(w io.Writer, cmp comparison) error {
	var b strings.Builder
	b.WriteString(cmp.heading() + "\n\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	head := []string{""}
	for _, c := range cmp.Columns {
		head = append(head, c.Design)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := []string{r.label}
		for _, c := range cmp.Columns {
			cells = append(cells, r.value(c))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	rs := cmp.replays(func(d string, seed uint64, cmd string) string {
		return fmt.Sprintf("%s, seed %d: %s", d, seed, cmd)
	})
	if len(rs) > 0 {
		b.WriteString("\nreplay the first failing seed:\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdown writes the table as GitHub markdown, for a pull request.
func writeMarkdown(w io.Writer, cmp comparison) error {
	var b strings.Builder
	b.WriteString(strings.Replace(cmp.heading(), "simrun compare: ", "**simrun compare**: ", 1) + "\n\n")
	b.WriteString("| |")
	for _, c := range cmp.Columns {
		fmt.Fprintf(&b, " %s |", c.Design)
	}
	b.WriteString("\n|---|")
	for range cmp.Columns {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r.label)
		for _, c := range cmp.Columns {
			fmt.Fprintf(&b, " %s |", r.value(c))
		}
		b.WriteString("\n")
	}
	rs := cmp.replays(func(d string, seed uint64, cmd string) string {
		return fmt.Sprintf("- %s, seed %d: `%s`", d, seed, cmd)
	})
	if len(rs) > 0 {
		b.WriteString("\nReplay the first failing seed:\n\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "%s\n", r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
