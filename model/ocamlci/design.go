package ocamlci

import (
	"errors"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// Design is one way of writing remote_solve: how a solve reaches the
// solver and what it leaves behind.
type Design interface {
	// Name is the design's name on the command line.
	Name() string
	// Solve runs one solve for the analysis job and yields the solver's
	// response, or rejects as remote_solve raises.
	Solve(analysis *model.Job, req SolveRequest) *sim.Promise[string]
}

// solverConfig is the config ocaml-ci's solver jobs are created with: it
// sets no confirmation threshold (JB8).
var solverConfig = &model.Config{}

// solverPool is the name of the scheduler pool the solver workers serve.
const solverPool = "solver"

// ModuleLevel is the design before the fix (CI4): one switch,
// "solver-remote", made when the module is loaded and never turned off.
// Every solve creates its placeholder solver-job on it, so every
// solver-job stays in the jobs table for ever.
type ModuleLevel struct {
	proc    *model.Process
	conn    *model.Connection
	switch_ *model.Switch
	actions actions
}

// NewModuleLevel loads the module: it makes the module-level switch.
func NewModuleLevel(p *model.Process, conn *model.Connection) *ModuleLevel {
	return &ModuleLevel{proc: p, conn: conn, switch_: p.NewSwitch("solver-remote")}
}

// Name is "module".
func (d *ModuleLevel) Name() string { return "module" }

// Solve is remote_solve as it was before the fix.
func (d *ModuleLevel) Solve(analysis *model.Job, req SolveRequest) *sim.Promise[string] {
	cluster := d.conn.Pool(analysis, solverPool, d.actions.of(req))
	job, err := d.proc.NewJobFor(analysis, d.switch_, "solver-job", solverConfig, model.Low)
	if err != nil {
		return sim.Fail[string](err)
	}
	return sim.Bind(model.StartWith(job, cluster, model.Average), func(h *model.Handle) *sim.Promise[string] {
		return model.WithRef(h, func(h *model.Handle) *sim.Promise[string] {
			return failOnError(model.RunJob(analysis, h))
		})
	})
}

// PerCall is the fixed design (CI5): the switch is made for each solve and
// turned off in the cleanup of a finalize around the pool wait and the
// remote run.
type PerCall struct {
	proc    *model.Process
	conn    *model.Connection
	actions actions
}

// NewPerCall returns the per-call design.
func NewPerCall(p *model.Process, conn *model.Connection) *PerCall {
	return &PerCall{proc: p, conn: conn}
}

// Name is "per-call".
func (d *PerCall) Name() string { return "per-call" }

// Solve is remote_solve as the fix writes it.
func (d *PerCall) Solve(analysis *model.Job, req SolveRequest) *sim.Promise[string] {
	cluster := d.conn.Pool(analysis, solverPool, d.actions.of(req))
	switch_ := d.proc.NewSwitch("solver-remote")
	job, err := d.proc.NewJobFor(analysis, switch_, "solver-job", solverConfig, model.Low)
	if err != nil {
		switch_.Drop() // left On: the collector turns it off (SW7)
		return sim.Fail[string](err)
	}
	return sim.Finalize(
		func() *sim.Promise[string] {
			return sim.Bind(model.StartWith(job, cluster, model.Average), func(h *model.Handle) *sim.Promise[string] {
				return model.WithRef(h, func(h *model.Handle) *sim.Promise[string] {
					return failOnError(model.RunJob(analysis, h))
				})
			})
		},
		func() *sim.Promise[sim.Unit] {
			off := switch_.TurnOff()
			switch_.Drop()
			return off
		})
}

// Local is the in-process solver (CI6): no pool, no placeholder job, so no
// solver-job can leak. It is the baseline.
type Local struct {
	proc    *model.Process
	actions actions
}

// NewLocal returns the local design.
func NewLocal(p *model.Process) *Local { return &Local{proc: p} }

// Name is "local".
func (d *Local) Name() string { return "local" }

// Solve runs the solver in the process and writes its output to the
// analysis job's log.
func (d *Local) Solve(analysis *model.Job, req SolveRequest) *sim.Promise[string] {
	return sim.Map(d.proc.Sim.Sleep(req.Duration), func(sim.Unit) string {
		for _, line := range d.actions.of(req).Output {
			_ = analysis.Write(line) // an unwritable line is lost; the solve goes on
		}
		return req.Kind + " done locally"
	})
}

// failOnError turns run_job's Error result into a rejection, as
// remote_solve does with Lwt.fail_with. It also reads the response as the
// analysis does: a solve the worker cancelled answers successfully with
// model.CancelledResponse (OC8), which ocaml-ci's analysis turns into the
// failure "Job cancelled".
func failOnError(p *sim.Promise[model.Result[string]]) *sim.Promise[string] {
	return sim.MapErr(p, func(r model.Result[string]) (string, error) {
		switch {
		case r.Err != nil:
			return "", errors.New(r.Err.Error())
		case r.Value == model.CancelledResponse:
			return "", errors.New("Job cancelled")
		}
		return r.Value, nil
	})
}
