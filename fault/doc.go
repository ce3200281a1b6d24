// Package fault makes the failures of the real system injectable into a
// jobsim run: deterministically, at named sites of the model or at virtual
// times, and replayably.
//
// A Plan is written in a small grammar (see Grammar) and parsed by Parse:
//
//	plan, err := fault.Parse(`worker-lost@2h; emfile@job-log:"Got resource" once`)
//
// Every kind of fault stands for a row of the fault table in docs/RULES.md
// (F2 to F15) and fires at the sites listed in its Kind.
package fault
