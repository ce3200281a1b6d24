// Package ocamlci models the part of ocaml-ci whose remote solver leaked
// jobs: the cached analysis job, the solves it runs, and the designs of
// remote_solve that jobsim compares.
//
//   - ModuleLevel: the placeholder solver-job is created on one switch
//     made at module load and never turned off (the bug);
//   - PerCall: the switch is made per solve and turned off in a finalize
//     (the fix);
//   - Local: the solver runs in the process and makes no placeholder job.
//
// A Backend runs analyses through one Design:
//
//	p := model.NewProcess(sim.New(sim.Config{Seed: 1}))
//	sched := p.NewScheduler()
//	sched.Pool("solver").AddWorker("solver-1", 15)
//	b := ocamlci.NewBackend(p, ocamlci.NewPerCall(p, p.NewConnection(sched)))
//	b.Analyse(ocamlci.Analysis{Repo: "ocurrent/ocaml-ci", Commit: "0fe2cb1",
//		Solves: ocamlci.Solves(1, []time.Duration{time.Minute}, 3)})
//	p.Sim.Run(sim.Budget{})
package ocamlci
