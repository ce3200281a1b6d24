package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobsim/jobsim/fault"
	"github.com/jobsim/jobsim/ledger"
	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/scenarios"
)

// Exit statuses.
const (
	exitHolds    = 0
	exitViolated = 1
	exitUsage    = 2
	exitBudget   = 3
)

// usageError marks an error as the user's: it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// runOptions are the flags of a single run.
type runOptions struct {
	scenario  string
	design    string
	seed      uint64
	duration  time.Duration
	drain     time.Duration
	maxEvents uint64
	format    string
	limit     int

	noHeal     bool
	faults     string // an explicit plan, or a random one ("random…")
	faultsFile string
	plan       fault.Plan
	random     *fault.Random

	logMode    string
	ledger     bool
	ledgerSkip []string
	saveCase   string // write the run's case to this file
	replay     string // run the case in this file
	plot       string // plot the run's levels over time to this file
	trace      string // write the run's Chrome trace to this file

	mode   model.LogMode
	checks ledger.Checks
	params scenarios.Params   // what to run, once validated
	work   scenarios.Workload // a replayed case's own workload, if it has one
}

// run is simrun's whole behaviour: it parses args, runs, writes to stdout
// and stderr, and returns the exit status. Tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	status := exitHolds
	root := newRootCommand(stdout, &status)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		if errors.Is(err, scenarios.ErrBudget) {
			return exitBudget
		}
		return exitUsage
	}
	return status
}

func newRootCommand(stdout io.Writer, status *int) *cobra.Command {
	var o runOptions
	root := &cobra.Command{
		Use:   "simrun [flags]",
		Short: "Run a jobsim scenario and check that every job it starts is closed",
		Long: `simrun runs one scenario of jobsim, a deterministic simulator of OCurrent job
lifecycles, under one design of ocaml-ci's remote solver, and shows what an
operator of the real system would see: the /jobs listing, the log of the first
job left open, counts, and the verdict of the invariant that every job that
was created is closed (out of the jobs table, log closed, switch hooks run).

A run has two phases: work arrives for --duration of virtual time, then nothing
new arrives and outstanding work gets --drain to finish. The same seed gives
byte-identical output.

Exit status: 0 when the invariant holds, 1 when it is violated (or, with
--ledger, one of the ledger's checks), 2 for bad usage, 3 when the run spends
its event budget (--max-events).

--ledger keeps the resource ledger: every resource taken for a job (pool and
pipeline slots, tickets, handles and their references, switch hooks, held log
descriptors, viewer sockets, table entries) is recorded with the job and the
event that took it; the books are checked after every event and at the end.
--save-case FILE writes the run's case as JSON; --replay FILE runs a saved
case, such as one a failing property test left, byte for byte.

Faults (--faults, --faults-file) fire during the arrivals; the drain then
heals everything (the scheduler comes back, workers come back and thaw) and
no fault fires any more. --faults takes an explicit plan or a random one,
"random[:ENABLE:FIRE[:KIND,KIND…]]" (default probabilities 0.5 and 0.05),
where each kind is switched on at each of its sites with probability ENABLE
and then fires with probability FIRE each time the run passes the site, all
drawn from the seed. A run with faults prints the explicit plan that replays
it exactly.

` + fault.Grammar + "\n\nKinds of fault:\n" + kindTable(),
		Example: `  simrun                                    # the leak under the module-level design
  simrun --scenario leak --design per-call  # the same workload under the fix
  simrun --seed 7 --duration 24h --format json
  simrun list                               # scenarios and designs`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd.Flags().Changed); err != nil {
				return err
			}
			holds, err := runOnce(stdout, o)
			if err != nil {
				return err
			}
			if !holds {
				*status = exitViolated
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	f := root.Flags()
	f.StringVar(&o.scenario, "scenario", "leak", "scenario to run (see 'simrun list')")
	f.StringVar(&o.design, "design", "module", "design of remote_solve: module, per-call or local")
	f.Uint64Var(&o.seed, "seed", 1, "seed of every random stream of the run")
	f.DurationVar(&o.duration, "duration", 0, "virtual time during which work arrives (default: the scenario's, 72h for leak)")
	f.DurationVar(&o.drain, "drain", scenarios.DefaultDrain, "virtual time outstanding work gets to finish after arrivals stop")
	f.Uint64Var(&o.maxEvents, "max-events", scenarios.DefaultMaxEvents, "stop with exit status 3 after this many events")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.IntVar(&o.limit, "limit", 10, "rows shown in the /jobs listing and the violations (0 shows all; text only)")
	f.StringVar(&o.faults, "faults", "", "fault plan: explicit (grammar above; replaces a scenario's own plan), or random[:ENABLE:FIRE[:KINDS]]")
	f.StringVar(&o.faultsFile, "faults-file", "", "read an explicit fault plan from `FILE`, one fault a line")
	f.BoolVar(&o.noHeal, "no-heal", false, "leave lasting faults in force through the drain, to show hangs")
	f.StringVar(&o.logMode, "log-mode", "transient", "how job logs hold descriptors: transient or held")
	f.BoolVar(&o.ledger, "ledger", false, "keep the resource ledger: check every resource after every event and at the end")
	f.StringSliceVar(&o.ledgerSkip, "ledger-skip", nil, "keep the ledger without these `CHECKS` ("+strings.Join(ledger.All.Names(), ", ")+")")
	f.StringVar(&o.saveCase, "save-case", "", "write the run's case (workload, seed, design, durations, explicit plan) to `FILE`, as JSON")
	f.StringVar(&o.plot, "plot", "", "plot open jobs, descriptors and hook stacks over virtual time to `FILE` (.svg or .png)")
	f.StringVar(&o.trace, "trace", "", "write the run as Chrome trace events to `FILE` (open it in Perfetto or chrome://tracing)")
	f.StringVar(&o.replay, "replay", "", "run the case saved in `FILE` (by --save-case or a failing property)")

	root.AddCommand(newListCommand(stdout), newCompareCommand(stdout))
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about simrun or one of its commands",
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 || len(args) > 0 && target == root {
				return usageError{fmt.Errorf("no help for %q (commands: list, compare)", strings.Join(args, " "))}
			}
			return target.Help()
		},
	})
	return root
}

// kindTable lists the kinds of fault, where each fires and what it does.
func kindTable() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, k := range fault.Kinds() {
		at := strings.Join(k.Sites, ", ")
		if k.AtTime {
			at = strings.TrimSuffix("time, "+at, ", ")
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", k.Name, at, k.Summary)
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// replayConflicts are the flags a replayed case sets itself.
var replayConflicts = []string{
	"scenario", "design", "seed", "duration", "drain", "faults", "faults-file",
	"no-heal", "log-mode", "ledger", "ledger-skip",
}

// validate checks the flags; changed reports whether a flag was given.
func (o *runOptions) validate(changed func(name string) bool) error {
	if err := o.validateCommon(changed); err != nil {
		return err
	}
	if o.replay != "" {
		for _, name := range replayConflicts {
			if changed(name) {
				return usageError{fmt.Errorf("--replay runs the case in %s as saved; drop --%s", o.replay, name)}
			}
		}
		return o.readCase()
	}
	if err := o.validateRun(changed); err != nil {
		return err
	}
	o.params = scenarios.Params{
		Scenario: o.scenario, Design: o.design, Seed: o.seed,
		Duration: o.duration, Drain: o.drain, MaxEvents: o.maxEvents,
		Faults: o.plan, Random: o.random, NoHeal: o.noHeal,
		LogMode: o.mode, Checks: o.checks,
	}
	if o.params.Duration == 0 {
		sc, _ := scenarios.Lookup(o.scenario) // checked by validateRun
		o.params.Duration = sc.Duration
	}
	return nil
}

// validateCommon checks the flags of every run, replayed or not.
func (o *runOptions) validateCommon(changed func(string) bool) error {
	switch {
	case o.format != "text" && o.format != "json":
		return usageError{fmt.Errorf("unknown format %q (valid: text, json)", o.format)}
	case o.maxEvents == 0:
		return usageError{errors.New("--max-events must be at least 1")}
	case o.limit < 0:
		return usageError{fmt.Errorf("--limit must be 0 or more, got %d", o.limit)}
	}
	if changed("trace") && o.trace == "" {
		return usageError{errors.New("--trace needs a file name")}
	}
	return checkPlotFile(o.plot, changed("plot"))
}

// readCase reads the case to replay.
func (o *runOptions) readCase() error {
	f, err := os.Open(o.replay)
	if err != nil {
		return usageError{fmt.Errorf("--replay: %w", err)}
	}
	defer f.Close()
	c, err := scenarios.ReadCase(f)
	if err == nil {
		o.params, o.work, err = c.Params()
	}
	if err != nil {
		return usageError{fmt.Errorf("--replay %s: %w", o.replay, err)}
	}
	o.params.MaxEvents = o.maxEvents
	return nil
}

// maxSpan bounds --duration and --drain: a year of virtual time, past
// which a run's memory, not its answer, is what grows.
const maxSpan = 365 * 24 * time.Hour

// validateRun checks the flags of a run that is not replayed.
func (o *runOptions) validateRun(changed func(string) bool) error {
	if _, err := scenarios.Lookup(o.scenario); err != nil {
		return usageError{err}
	}
	if err := scenarios.CheckDesign(o.design); err != nil {
		return usageError{err}
	}
	switch {
	case o.duration < 0 || changed("duration") && o.duration == 0:
		return usageError{fmt.Errorf("--duration must be positive, got %v", o.duration)}
	case o.drain <= 0:
		return usageError{fmt.Errorf("--drain must be positive, got %v", o.drain)}
	case o.duration > maxSpan || o.drain > maxSpan:
		return usageError{fmt.Errorf("--duration and --drain are at most %s each", fault.FormatDuration(maxSpan))}
	case changed("faults") && changed("faults-file"):
		return usageError{errors.New("give --faults or --faults-file, not both")}
	case changed("faults-file") && o.faultsFile == "":
		return usageError{errors.New("--faults-file needs a file name")}
	}
	mode, err := model.ParseLogMode(o.logMode)
	if err != nil {
		return usageError{fmt.Errorf("--log-mode: %w", err)}
	}
	o.mode = mode
	if o.ledger || len(o.ledgerSkip) > 0 {
		skip, err := ledger.ParseChecks(o.ledgerSkip)
		if err != nil {
			return usageError{fmt.Errorf("--ledger-skip: %w", err)}
		}
		if o.checks = ledger.All &^ skip; o.checks == 0 {
			return usageError{errors.New("--ledger-skip leaves no check to keep")}
		}
	}
	if err := o.parseFaults(); err != nil {
		return err
	}
	if o.plan == nil && o.random == nil && (changed("faults") || changed("faults-file")) {
		o.plan = fault.Plan{} // a plan was given, with no fault in it
	}
	return nil
}

// parseFaults reads --faults or --faults-file into a plan or a random
// plan.
func (o *runOptions) parseFaults() error {
	src, name := o.faults, ""
	switch {
	case strings.HasPrefix(o.faults, "random"):
		r, err := fault.ParseRandom(o.faults)
		if err != nil {
			return usageError{err}
		}
		o.random = r
		return nil
	case o.faultsFile != "":
		b, err := os.ReadFile(o.faultsFile)
		if err != nil {
			return usageError{fmt.Errorf("--faults-file: %w", err)}
		}
		src, name = string(b), fmt.Sprintf("%q: ", o.faultsFile)
	case o.faults == "":
		return nil
	}
	plan, err := fault.Parse(src)
	if err != nil {
		return usageError{fmt.Errorf("%s%w", name, err)}
	}
	o.plan = plan
	return nil
}

func runOnce(w io.Writer, o runOptions) (holds bool, err error) {
	var rep *scenarios.Report
	if o.plot != "" {
		o.params.SampleEvery = sampleInterval(o.params.Duration + o.params.Drain)
	}
	var tl timeline
	if o.trace != "" {
		o.params.Observe = tl.observe
	}
	if o.work != nil {
		rep, err = scenarios.Execute(o.params, o.work)
	} else {
		rep, err = scenarios.Run(o.params)
	}
	if errors.Is(err, scenarios.ErrBudget) {
		return false, fmt.Errorf("%w; replay: %s", err, repro(&scenarios.Report{Params: o.params}))
	}
	if err != nil {
		return false, err
	}
	if o.saveCase != "" {
		if err := saveCase(o.saveCase, rep, o.work); err != nil {
			return false, usageError{fmt.Errorf("--save-case: %w", err)}
		}
	}
	if o.plot != "" {
		title := fmt.Sprintf("%s, seed %d, %s logs", rep.Params.Scenario, rep.Params.Seed, rep.Params.LogMode)
		if err := writePlot(o.plot, title, []series{{rep.Params.Design, rep.Samples}}); err != nil {
			return false, err
		}
	}
	if o.trace != "" {
		if err := writeTrace(o.trace, rep, &tl); err != nil {
			return false, err
		}
	}
	cmdline := repro(rep)
	if o.work != nil {
		cmdline = "simrun --replay " + shellWord(o.replay)
	}
	if o.format == "json" {
		err = writeJSON(w, rep, cmdline)
	} else {
		err = writeText(w, rep, o.limit, cmdline)
	}
	return rep.Holds(), err
}

// saveCase writes the case that replays rep to path: its workload if it
// has its own, and the explicit plan of the faults that fired.
func saveCase(path string, rep *scenarios.Report, work scenarios.Workload) error {
	p := rep.Params
	p.Faults, p.Random = nil, nil
	if rep.Faults != nil {
		p.Faults = rep.Faults.Replay
	}
	var b strings.Builder
	if err := scenarios.WriteCase(&b, scenarios.NewCase(p, work)); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func newListCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenarios and designs, one line each",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
			for _, sc := range scenarios.Scenarios() {
				fmt.Fprintf(tw, "scenario\t%s\t%s (%s)\n", sc.Name, sc.Summary, fault.FormatDuration(sc.Duration))
			}
			for _, d := range scenarios.Designs() {
				fmt.Fprintf(tw, "design\t%s\t%s\n", d.Name, d.Summary)
			}
			return tw.Flush()
		},
	}
}

// repro is the command line that replays a run. A run with faults is
// replayed with the explicit plan of the faults that fired.
func repro(rep *scenarios.Report) string {
	p := rep.Params
	args := []string{"simrun",
		"--scenario", p.Scenario, "--design", p.Design,
		"--seed", fmt.Sprint(p.Seed), "--duration", fault.FormatDuration(p.Duration),
	}
	if p.Drain != scenarios.DefaultDrain {
		args = append(args, "--drain", fault.FormatDuration(p.Drain))
	}
	if p.LogMode != model.Transient {
		args = append(args, "--log-mode", p.LogMode.String())
	}
	if p.Checks != 0 {
		args = append(args, "--ledger")
		if skip := ledger.All &^ p.Checks; skip != 0 {
			args = append(args, "--ledger-skip", skip.String())
		}
	}
	if rep.Faults == nil && (p.Faults != nil || p.Random != nil) {
		// The run did not get as far as a report of its faults.
		args = append(args, "--faults", shellQuote(givenFaults(p)))
	}
	if rep.Faults != nil {
		if p.NoHeal {
			args = append(args, "--no-heal")
		}
		plan := rep.Faults.Replay.String()
		if len(plan) > maxPlanArg {
			// Too long for one argument of a command line: save the case.
			return strings.Join(args, " ") + " --faults " + shellQuote(givenFaults(p)) +
				" --save-case CASE, then simrun --replay CASE (the plan that fired is too long for a command line)"
		}
		args = append(args, "--faults", shellQuote(plan))
	}
	return strings.Join(args, " ")
}

// givenFaults is the fault plan the run was given, explicit or random.
func givenFaults(p scenarios.Params) string {
	if p.Random != nil {
		return p.Random.String()
	}
	return p.Faults.String()
}

// maxPlanArg is the longest plan the replay command carries itself;
// Linux refuses a single argument of more than 128 KiB.
const maxPlanArg = 64 << 10

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellWord quotes s for a POSIX shell if it holds anything but letters,
// digits and the punctuation of paths.
func shellWord(s string) string {
	plain := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("/._-+=:,", r))
	}) < 0
	if plain && s != "" {
		return s
	}
	return shellQuote(s)
}
