package property

import (
	"flag"
	"fmt"
	"strconv"

	"pgregory.net/rapid"
)

// Found is what Find found: nothing, or a failing case and the case rapid
// shrank it to.
type Found struct {
	// First is the failing case rapid found, Shrunk the one it shrank
	// that to; both nil if the property held.
	First, Shrunk *Failure
	// Cases is how many cases ran, shrinking included.
	Cases int
	// Report is rapid's report, as it would have failed the test with.
	Report []string
}

// Find checks prop with rapid as a test would, but records a failure
// instead of failing tb: it returns what rapid found first and what it
// shrank that to. It pins rapid's seed to seed, runs at most checks cases
// before shrinking (0 keeps -rapid.checks), writes no rapid fail file,
// and restores rapid's flags before it returns. It is for tests that
// assert the harness finds a known breach; tests that call it must not
// run in parallel with other rapid checks.
func Find(tb rapid.TB, seed uint64, checks int, prop Property) (*Found, error) {
	tb.Helper()
	flags := [][2]string{{"rapid.seed", strconv.FormatUint(seed, 10)}, {"rapid.nofailfile", "true"}}
	if checks > 0 {
		flags = append(flags, [2]string{"rapid.checks", strconv.Itoa(checks)})
	}
	restore, err := setFlags(flags)
	if err != nil {
		return nil, err
	}
	defer restore()

	found := &Found{}
	record := prop.Record
	prop.Record = func(f *Failure) {
		if found.First == nil {
			found.First = f
		}
		found.Shrunk = f
		if record != nil {
			record(f)
		}
	}
	rec := &recorder{name: tb.Name()}
	rapid.Check(rec, func(t *rapid.T) {
		found.Cases++
		prop.Check(t)
	})
	found.Report = rec.logs
	if rec.failed && found.Shrunk == nil {
		return found, fmt.Errorf("property: rapid failed with no failing case: %v", rec.logs)
	}
	return found, nil
}

// setFlags sets command-line flags, each a name and a value, and returns
// the function that puts their old values back.
func setFlags(values [][2]string) (restore func(), err error) {
	var undo []func()
	restore = func() {
		for _, u := range undo {
			u()
		}
	}
	for _, nv := range values {
		name, v := nv[0], nv[1]
		f := flag.Lookup(name)
		if f == nil {
			restore()
			return nil, fmt.Errorf("property: no flag %s", name)
		}
		old := f.Value.String()
		if err := f.Value.Set(v); err != nil {
			restore()
			return nil, fmt.Errorf("property: set %s: %w", name, err)
		}
		undo = append(undo, func() { _ = f.Value.Set(old) })
	}
	return restore, nil
}

// recorder is a rapid.TB that records what rapid reports instead of
// failing a test.
type recorder struct {
	name   string
	failed bool
	logs   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Name() string     { return r.name }
func (r *recorder) Fail()            { r.failed = true }
func (r *recorder) FailNow()         { r.failed = true }
func (r *recorder) Failed() bool     { return r.failed }
func (r *recorder) SkipNow()         {}
func (r *recorder) Skip(args ...any) { r.Log(args...) }
func (r *recorder) Skipf(format string, args ...any) {
	r.Logf(format, args...)
}
func (r *recorder) Log(args ...any) { r.logs = append(r.logs, fmt.Sprint(args...)) }
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.failed = true; r.Log(args...) }
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.Logf(format, args...)
}
func (r *recorder) Fatal(args ...any) { r.Error(args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
}
