// Package ledger keeps the books of a simulated OCurrent process: every
// resource taken on behalf of a job, with the job it was taken for and
// the event that took it, and when it is given back.
//
// The model tells a ledger of each resource through model.Ledger: jobs'
// table entries and completion hooks, other switch hooks, Local pool
// slots, the OCluster plugin's pipeline slots, tickets waiting at the
// scheduler, capability handles and the workers' counts of their
// references, held log descriptors and viewers' sockets. The ledger checks
// the model's own counters against its books:
//
//   - after every event (safety): each count the event touched agrees
//     with the ledger's and stays within its limit (slots in use plus free
//     equal the capacity, no count below zero), the active-jobs gauge
//     equals the table's size, and no closed job holds anything;
//   - at the end of the run, once it has healed and drained (liveness):
//     every job is closed and every resource is back.
//
// A violation names the check, the resource, the job it was taken for and
// the event, virtual time and step, that took it. Each check can be
// switched off on its own, to show which one finds a breach.
//
// A run wires a ledger to its process and its simulator:
//
//	l := ledger.New(proc, ledger.All)
//	proc.Sim.AfterEvent(l.AfterEvent)
//	proc.Sim.Run(budget)
//	l.Finish()
//	for _, v := range l.Violations() {
//		fmt.Println(v)
//	}
//
// scenarios.Params.Checks does this for a scenario's run.
package ledger
