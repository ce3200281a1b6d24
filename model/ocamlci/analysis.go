package ocamlci

import (
	"errors"
	"fmt"
	"time"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// SolveRequest is one solve of an analysis: what it solves and how long
// the solver takes. One solve covers every platform (CI2).
type SolveRequest struct {
	Kind      string // "lint", "fmt" or "main"
	Duration  time.Duration
	Platforms int
}

func (r SolveRequest) output() []string {
	return []string{fmt.Sprintf("Solving %s for %d platforms", r.Kind, r.Platforms)}
}

func (r SolveRequest) action() model.Action {
	return model.Action{Kind: "solve " + r.Kind, Duration: r.Duration, Output: r.output()}
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
	kinds := map[int][]string{1: {"main"}, 2: {"lint", "main"}, 3: {"lint", "fmt", "main"}}[n]
	out := make([]SolveRequest, len(kinds))
	for i, k := range kinds {
		out[i] = SolveRequest{Kind: k, Duration: durations[i], Platforms: platforms}
	}
	return out
}

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

// Analyse runs one analysis as a cached job labelled ci-analyse (CI1): it
// waits for the analyse pool, logs the opam-repository commit, runs the
// solves, logs the outcome, records it, and then turns the job's switch
// off. It fails only if the job cannot be created.
func (b *Backend) Analyse(a Analysis) *sim.Promise[model.Result[string]] {
	sw := b.Proc.NewSwitch("analyse " + a.Repo)
	job, err := b.Proc.NewJob(sw, "ci-analyse", &model.Config{}, model.Low)
	if err != nil {
		return sim.Fail[model.Result[string]](err)
	}

	run := func() *sim.Promise[model.Result[string]] {
		started := model.StartWith(job, model.Pool[sim.Unit](b.Pool), model.Average)
		outcome := sim.Bind(started, func(sim.Unit) *sim.Promise[string] {
			job.Logf("Solving with opam-repository commit: %s", a.Commit)
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
	return sim.Finalize(run, sw.TurnOff)
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
		job.Logf("Job failed: %v", err)
		return model.Error[string](err)
	}
	job.Logf("Job succeeded")
	return model.Ok(v)
}

// solveAll runs the solves one after another. A lint solve's failure is
// ignored; any other failure ends the analysis. The result is the last
// solve's response.
func (b *Backend) solveAll(job *model.Job, solves []SolveRequest) *sim.Promise[string] {
	if len(solves) == 0 {
		return sim.Return("")
	}
	req, rest := solves[0], solves[1:]
	next := func(v string) *sim.Promise[string] {
		if len(rest) == 0 {
			return sim.Return(v)
		}
		return b.solveAll(job, rest)
	}
	solve := func() *sim.Promise[string] { return b.Design.Solve(job, req) }
	if req.Kind == "lint" {
		return sim.TryBind(solve, next, func(error) *sim.Promise[string] { return next("") })
	}
	return sim.Bind(solve(), next)
}
