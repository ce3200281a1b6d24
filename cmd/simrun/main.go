// Command simrun runs jobsim's scenarios and shows what an operator of the
// real system would see: the /jobs listing, job logs, and whether every job
// that started was closed.
//
//	simrun                                   # the leak, module-level design
//	simrun --scenario leak --design per-call # the fix
//	simrun list                              # scenarios and designs
//	simrun compare --scenario leak           # every design, seeds 1-10, one table
//	simrun --format json                     # one JSON object
//
// Exit status: 0 when the invariant holds, 1 when it is violated, 2 for bad
// usage, 3 when a run spends its event budget.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
