package ocamlci

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// Kinds of solve (CI2).
const (
	KindLint = "lint" // the lint solve; its failure is ignored
	KindFmt  = "fmt"  // the formatter solve
	KindMain = "main" // the main solve of a repository without lock files
	KindLock = "lock" // one solve per lock file, run concurrently
)

// SolveRequest is one solve of an analysis: what it solves and how long
// the solver takes. One solve covers every platform (CI2).
type SolveRequest struct {
	Kind      string // KindLint, KindFmt, KindMain or KindLock
	Duration  time.Duration
	Platforms int
}

func (r SolveRequest) output() []string {
	return []string{"Solving " + r.Kind + " for " + strconv.Itoa(r.Platforms) + " platforms"}
}

func (r SolveRequest) action() model.Action {
	return model.Action{Kind: "solve " + r.Kind, Duration: r.Duration, Output: r.output()}
}

// actions makes the Action of each kind of solve once: an action's kind
// and output depend only on the solve's kind and platforms, so the
// solves of a run share them, each with its own duration. Nothing
// changes an action's output once made.
type actions map[actionKey]model.Action

type actionKey struct {
	kind      string
	platforms int
}

// of returns r's action.
func (as *actions) of(r SolveRequest) model.Action {
	k := actionKey{r.Kind, r.Platforms}
	a, ok := (*as)[k]
	if !ok {
		if *as == nil {
			*as = actions{}
		}
		a = r.action()
		(*as)[k] = a
	}
	a.Duration = r.Duration
	return a
}

// Analysis is one run of ocaml-ci's analysis of a commit.
type Analysis struct {
	Repo   string
	Commit string // the opam-repository commit solved against
	Solves []SolveRequest
}

// Solves builds the solves of an analysis with n solves (CI2): the lint
// solve first, then the formatter solve if n is 3, then the main solve.
// With n = 1 there is only the main solve.
func Solves(n int, durations []time.Duration, platforms int) []SolveRequest {
	var kinds []string
	if n >= 1 && n < len(solveKinds) {
		kinds = solveKinds[n]
	}
	out := make([]SolveRequest, len(kinds))
	for i, k := range kinds {
		out[i] = SolveRequest{Kind: k, Duration: durations[i], Platforms: platforms}
	}
	return out
}

// solveKinds are the kinds of the solves of an analysis with n solves,
// by n.
var solveKinds = [...][]string{1: {KindMain}, 2: {KindLint, KindMain}, 3: {KindLint, KindFmt, KindMain}}

// Backend is the part of ocaml-ci that runs analyses: the "analyse" pool
// and the remote_solve design under test.
type Backend struct {
	Proc   *model.Process
	Pool   *model.LocalPool
	Design Design
}

// AnalysePoolSize is the size of ocaml-ci's "analyse" pool.
const AnalysePoolSize = 400

// NewBackend returns a backend with an "analyse" pool of AnalysePoolSize.
func NewBackend(p *model.Process, d Design) *Backend {
	return &Backend{Proc: p, Pool: p.NewLocalPool("analyse", AnalysePoolSize), Design: d}
}

// Reasons a person or the engine gives for cancelling an analysis (JB14).
const (
	ReasonUser       = "Cancelled by user"
	ReasonAutoCancel = "Auto-cancelling job because it is no longer needed"
)

// Run is one analysis in progress.
type Run struct {
	Analysis Analysis
	// Job is the ci-analyse job, or nil if it could not be created.
	Job *model.Job
	// Result is the analysis's recorded result. It is rejected only if the
	// job could not be created.
	Result *sim.Promise[model.Result[string]]
}

// Cancel cancels the analysis's job with reason, as the web page's cancel
// button (ReasonUser) or the engine's auto-cancel (ReasonAutoCancel) do:
// through Job.cancel, never by cancelling a promise (CI1).
func (r *Run) Cancel(reason string) {
	if r.Job != nil {
		r.Job.Cancel(reason)
	}
}

// Analyse starts an analysis and returns its result; see Start.
func (b *Backend) Analyse(a Analysis) *sim.Promise[model.Result[string]] {
	return b.Start(a).Result
}

// Start runs one analysis as a cached job labelled ci-analyse (CI1): it
// waits for the analyse pool, logs the opam-repository commit, runs the
// solves, logs the outcome, records it, and then turns the job's switch
// off in a finalize.
func (b *Backend) Start(a Analysis) *Run {
	sw := b.Proc.NewSwitch("analyse " + a.Repo)
	job, err := b.Proc.NewJob(sw, "ci-analyse", &model.Config{}, model.Low)
	if err != nil {
		sw.Drop()
		return &Run{Analysis: a, Result: sim.Fail[model.Result[string]](err)}
	}

	run := func() *sim.Promise[model.Result[string]] {
		started := model.StartWith(job, model.Pool[sim.Unit](b.Pool), model.Average)
		outcome := sim.Bind(started, func(sim.Unit) *sim.Promise[string] {
			if err := job.LogLine("Solving with opam-repository commit: " + a.Commit); err != nil {
				return sim.Fail[string](err)
			}
			return b.solveAll(job, a.Solves)
		})
		return sim.TryBind(func() *sim.Promise[string] { return outcome },
			func(v string) *sim.Promise[model.Result[string]] {
				return sim.Return(record(job, v, nil))
			},
			func(err error) *sim.Promise[model.Result[string]] {
				return sim.Return(record(job, "", err))
			})
	}
	result := sim.Finalize(run, func() *sim.Promise[sim.Unit] {
		off := sw.TurnOff()
		sw.Drop()
		return off
	})
	return &Run{Analysis: a, Job: job, Result: result}
}

// ErrCancelled is the result of an analysis whose job was cancelled,
// whatever its solves returned (CI1).
var ErrCancelled = errors.New("Cancelled")

// record turns an analysis's outcome into its result as the cache does
// (CI1): if the job was cancelled the result is ErrCancelled and nothing is
// logged; otherwise it logs "Job succeeded" or "Job failed: <message>".
func record(job *model.Job, v string, err error) model.Result[string] {
	if _, cancelled := job.Cancelled(); cancelled {
		return model.Error[string](ErrCancelled)
	}
	if err != nil {
		_ = job.Logf("Job failed: %v", err) // the result is recorded whether or not the log takes it
		return model.Error[string](err)
	}
	_ = job.Logf("Job succeeded")
	return model.Ok(v)
}

// solveAll runs the solves one after another (CI2). A lint solve's
// failure is ignored; any other failure ends the analysis. Consecutive
// lock-file solves run concurrently, and the first of them to fail, in
// order, fails the analysis. The result is the last solve's response.
func (b *Backend) solveAll(job *model.Job, solves []SolveRequest) *sim.Promise[string] {
	if len(solves) == 0 {
		return sim.Return("")
	}
	req := solves[0]
	var step *sim.Promise[string]
	switch req.Kind {
	case KindLint:
		step = sim.Catch(func() *sim.Promise[string] { return b.Design.Solve(job, req) },
			func(error) *sim.Promise[string] { return sim.Return("") })
		solves = solves[1:]
	case KindLock:
		n := 1
		for n < len(solves) && solves[n].Kind == KindLock {
			n++
		}
		step = b.solveConcurrently(job, solves[:n])
		solves = solves[n:]
	default:
		step = b.Design.Solve(job, req)
		solves = solves[1:]
	}
	if len(solves) == 0 {
		return step
	}
	return sim.Bind(step, func(string) *sim.Promise[string] { return b.solveAll(job, solves) })
}

// solveConcurrently runs every solve at once and waits for all of them.
func (b *Backend) solveConcurrently(job *model.Job, solves []SolveRequest) *sim.Promise[string] {
	results := make([]*sim.Promise[string], len(solves))
	waits := make([]*sim.Promise[sim.Unit], len(solves))
	for i, req := range solves {
		results[i] = b.Design.Solve(job, req)
		waits[i] = sim.Ignore(results[i])
	}
	return sim.Bind(sim.Join(waits...), func(sim.Unit) *sim.Promise[string] {
		v, _ := results[len(results)-1].Result()
		return sim.Return(v)
	})
}

// WithLockFiles replaces the main solve of solves with one solve per lock
// file, lasting the given durations, as for a repository with lock files
// (CI2).
func WithLockFiles(solves []SolveRequest, durations []time.Duration) []SolveRequest {
	out := slices.DeleteFunc(slices.Clone(solves), func(r SolveRequest) bool { return r.Kind == KindMain })
	platforms := 0
	if len(solves) > 0 {
		platforms = solves[0].Platforms
	}
	for _, d := range durations {
		out = append(out, SolveRequest{Kind: KindLock, Duration: d, Platforms: platforms})
	}
	return out
}
