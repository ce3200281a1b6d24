package sim_test

import "flag"

// Packages with golden files rewrite them when the tests run with -update.
// Every test package accepts the flag, so that go test ./... -update works.
var _ = flag.Bool("update", false, "rewrite golden files (this package has none)")
