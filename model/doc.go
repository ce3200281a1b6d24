// Package model is jobsim's model of OCurrent and OCluster: the parts of
// the real system whose lifecycles decide whether a job is ever closed.
//
// Each type stands for a module of the OCaml code and is named after it,
// so that a reviewer holding the OCaml source can match them line by line:
//
//   - Switch is Current.Switch: On, then TurningOff, then Off, running its
//     hooks newest first;
//   - Job is Current.Job: a log, a place in the jobs table that /jobs
//     shows, cancel hooks, and a completion hook on its switch; StartWith
//     is Job.start_with;
//   - LocalPool is Current.Pool; Pool is the interface every pool meets;
//   - Connection and ClusterPool are the OCluster plugin's Connection and
//     Connection.pool; RunJob is Connection.run_job;
//   - Scheduler, SchedPool, Ticket and Worker are the OCluster scheduler
//     and its solver workers; Handle is a capability to a remote job, and
//     WithRef is Capability.with_ref;
//   - Process holds what the real engine keeps in module-level values: the
//     jobs table, the active-jobs gauge, and the process log.
//
// A Process may be given a Ledger, which the model tells of every
// resource it takes for a job and of its return, at the places it takes
// and gives them back; with none, as by default, each place costs one nil
// check. Package ledger keeps and checks those books.
//
// Everything runs on a sim.Sim: model code is written with the kernel's
// Lwt-style promises and never blocks. The rules each type follows are
// those of docs/RULES.md, cited by id (SW3, JB15, PL2, OC3 …) in the doc
// comments and in the tests that pin them.
//
// Errors that the real system raises with a fixed text ("Switch already
// off!", "Job.start called twice!") keep that text exactly, capitals and
// punctuation included, because operators read them in job logs.
//
// A minimal use:
//
//	p := model.NewProcess(sim.New(sim.Config{Seed: 1}))
//	sw := p.NewSwitch("example")
//	job, _ := p.NewJob(sw, "build", &model.Config{}, model.Low)
//	pool := p.NewLocalPool("analyse", 1)
//	model.StartWith(job, model.Pool[sim.Unit](pool), model.Average)
//	sw.TurnOff()
//	p.Sim.Run(sim.Budget{})
//	// job.State() == model.Closed
package model
