package fault

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want Plan
	}{
		{"empty", "", Plan{}},
		{"comments only", "# nothing\n\n", Plan{}},
		{"time trigger", "worker-lost@2h", Plan{{Kind: "worker-lost", At: 2 * time.Hour, Nth: 1, Times: 1}}},
		{"lasting", "scheduler-down@1h for 30m",
			Plan{{Kind: "scheduler-down", At: time.Hour, For: 30 * time.Minute, Nth: 1, Times: 1}}},
		{"site with text, once", `emfile@job-log:"Got resource" once`,
			Plan{{Kind: "emfile", Site: "job-log", Match: "Got resource", Nth: 1, Times: 1}}},
		{"site with pass number", "cancel-analysis@ready-to-run:3",
			Plan{{Kind: "cancel-analysis", Site: "ready-to-run", Nth: 3, Times: 1}}},
		{"text and pass number, always", `cancel@waiting:"solver-job":2 always`,
			Plan{{Kind: "cancel", Site: "waiting", Match: "solver-job", Nth: 2, Times: 0}}},
		{"times", `viewer@running:"solver-job" for 10m times 4`,
			Plan{{Kind: "viewer", Site: "running", Match: "solver-job", Nth: 1, Times: 4, For: 10 * time.Minute}}},
		{"separators and comments", "# a plan\nworker-lost@1h ; restart@0\n\n# end\n",
			Plan{{Kind: "worker-lost", At: time.Hour, Nth: 1, Times: 1}, {Kind: "restart", Nth: 1, Times: 1}}},
		{"escaped quote", `emfile@job-log:"say \"hi\""`,
			Plan{{Kind: "emfile", Site: "job-log", Match: `say "hi"`, Nth: 1, Times: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.src)
			require.NoError(t, err)
			assert.Equal(t, c.want, got, "Parse(%q)", c.src)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src  string
		want string
	}{
		{"frobnicate@1h", `1:1: unknown fault kind "frobnicate"`},
		{"worker-lost", "1:12: expected '@' after \"worker-lost\", found end of plan"},
		{"worker-lost@", "1:13: expected a time or a site after '@', found end of plan"},
		{"worker-lost@job-log", `1:13: worker-lost cannot fire at site "job-log" (valid: a time, solve)`},
		{"solver-exception@2h", "1:18: solver-exception has no time trigger; it fires at a site (solve)"},
		{"worker-lost@2 hours", `1:13: expected a duration such as 90s, 30m or 2h, found "2"`},
		{"worker-lost@2x", `1:13: malformed duration "2x"`},
		{"worker-lost@2h for 1h", "1:16: worker-lost does not last; 'for' applies to"},
		{"scheduler-down@1h for", "1:22: expected a duration such as 90s, 30m or 2h, found end of plan"},
		{"worker-lost@2h always", "1:16: a fault at a time fires once"},
		{`emfile@job-log:"Got resource`, "1:16: expected a quoted text or a pass number after ':', found an unterminated quoted text"},
		{"emfile@job-log:0", `1:16: pass number must be 1 or more, found "0"`},
		{"emfile@job-log times 0", `1:22: expected a count of 1 or more after 'times', found "0"`},
		{"emfile@job-log sometimes", `1:16: expected 'for', 'once', 'always', 'times' or ';', found "sometimes"`},
		{"worker-lost@1h\nrestart@1h, worker-lost@2h", `2:11: expected ';' or a new line after a fault, found ','`},
		{"@1h", "1:1: expected a fault kind"},
		{"emfile@job-log once once", "1:21: 'once' after 'once': give at most one of once, always and times"},
		{"emfile@job-log always times 3", "1:23: 'times' after 'always'"},
		{"scheduler-down@1h for 1m for 2m", "1:26: 'for' given twice"},
		{"worker-lost@99999999999h", `1:13: duration "99999999999h" is out of range`},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			_, err := Parse(c.src)
			require.Error(t, err, "Parse(%q)", c.src)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, err.Error(), "parse fault plan: "+c.want)
		})
	}
}

func TestPlanStringRoundTrips(t *testing.T) {
	src := `worker-lost@2h; scheduler-down@1h30m for 30m; emfile@job-log:"Got resource"; ` +
		`cancel@waiting:"solver-job":2 always; viewer@running times 3 for 1m; restart@0s`
	plan, err := Parse(src)
	require.NoError(t, err)
	again, err := Parse(plan.String())
	require.NoError(t, err, "Parse(%q)", plan.String())
	assert.Equal(t, plan, again)
	assert.Equal(t, `worker-lost@2h; scheduler-down@1h30m for 30m; emfile@job-log:"Got resource"; `+
		`cancel@waiting:"solver-job":2 always; viewer@running for 1m times 3; restart@0s`, plan.String())
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// prints in a form that parses back to the same plan.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"worker-lost@2h", "scheduler-down@1h for 30m", `emfile@job-log:"Got resource" once`,
		"cancel-analysis@ready-to-run:3", "# c\nrestart@0;viewer@running:\"x\":2 for 1s times 2",
		`emfile@job-log:"\u00e9\t\"":9 always`, "worker-lost@1.5h", "no-worker@submit for 1µs",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		plan, err := Parse(src)
		if err != nil {
			return
		}
		again, err := Parse(plan.String())
		if err != nil {
			t.Fatalf("Parse(%q) failed on the printed form %q of an accepted plan: %v", src, plan.String(), err)
		}
		if len(plan) != len(again) {
			t.Fatalf("Parse(String()) = %d faults, want %d", len(again), len(plan))
		}
		for i := range plan {
			if plan[i] != again[i] {
				t.Fatalf("fault %d: Parse(String()) = %+v, want %+v (printed %q)", i, again[i], plan[i], plan.String())
			}
		}
	})
}
