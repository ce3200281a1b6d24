// Package scenarios builds jobsim's simulated deployment (one OCurrent
// process running ocaml-ci's analyses, an OCluster scheduler and its
// solver workers), drives it with a workload, and reports what the run
// left behind.
//
// A run has two phases: work arrives, and faults fire, for
// Params.Duration; then every lasting fault heals, no new one fires, and
// outstanding work drains for at most Params.Drain. The invariant, the
// leaked-or-hung findings and, if kept, the resource ledger are checked at
// the end.
//
// Named scenarios are listed by Scenarios: "leak", a realistic load of
// commits and opam-repository pushes, and one scenario per row of the
// fault table in docs/RULES.md. A run of one:
//
//	rep, err := scenarios.Run(scenarios.Params{Scenario: "leak", Design: "per-call", Seed: 1})
//	if err == nil && !rep.Verdict.Holds {
//		fmt.Println(rep.Verdict.Violations[0])
//	}
//
// Execute runs a workload of the caller's own, as the property tests do.
package scenarios
