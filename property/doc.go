// Package property is jobsim's property-based harness: rapid generators
// of workloads and fault plans, and the property that every run keeps the
// ledger's books (package ledger) after every event and gives everything
// back by its end.
//
// A property is a design and a fault model. Each case draws a workload
// (analyses arriving in bursts, their solves and durations) and a plan of
// faults of the model, each fault one drawn action, so that rapid shrinks
// the faults as it shrinks the workload. A failing case is saved under
// CaseDir, and its failure prints the simrun command that replays it:
//
//	func TestPerCall(t *testing.T) {
//		rapid.Check(t, property.Property{Design: "per-call", Faults: property.Survivable}.Check)
//	}
//
// Find runs a property as a test would but records what rapid found and
// shrank, for tests that assert the harness finds a known breach.
package property
