package model

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// fillFDs lowers p's descriptor limit to what is in use: the next open
// fails.
func fillFDs(p *Process) { p.FDs.Limit = p.FDs.InUse() }

// injectAt returns a fault hook that fails with err at site when the
// detail is detail, and records every question it is asked.
func injectAt(site Site, detail string, err error, asked *[]string) func(Site, string) error {
	return func(s Site, d string) error {
		*asked = append(*asked, string(s)+": "+d)
		if s == site && d == detail {
			return err
		}
		return nil
	}
}

func TestJB_FileDescriptors(t *testing.T) {
	t.Run("JB2_create_fails_when_the_log_file_cannot_be_created", func(t *testing.T) {
		errInjected := errors.New("input/output error")
		tests := []struct {
			name    string
			mode    LogMode
			setup   func(p *Process)
			wantErr error
		}{
			{"descriptor_table_full/transient", Transient, fillFDs, ErrTooManyOpenFiles},
			{"descriptor_table_full/held", Held, fillFDs, ErrTooManyOpenFiles},
			{"disk_budget_spent/transient", Transient,
				func(p *Process) { p.Disk = Disk{Budget: 100, Used: 100} }, ErrNoSpace},
			{"disk_budget_spent/held", Held,
				func(p *Process) { p.Disk = Disk{Budget: 100, Used: 100} }, ErrNoSpace},
			{"injected_at_job_create", Transient, func(p *Process) {
				p.Inject = func(s Site, label string) error {
					if s == SiteJobCreate && label == "solver-job" {
						return errInjected
					}
					return nil
				}
			}, errInjected},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := newTestProcess(t)
				p.LogMode = tt.mode
				sw := p.NewSwitch("solver-remote")
				before := newJob(t, p, sw, "ci-analyse", Low)
				tt.setup(p)
				fds, disk := p.FDs, p.Disk

				j, err := p.NewJob(sw, "solver-job", &Config{}, Low)

				require.ErrorIs(t, err, tt.wantErr)
				assert.EqualError(t, err, tt.wantErr.Error(), "error text")
				assert.Nil(t, j)
				snap := p.Snapshot()
				assert.Equal(t, 1, snap.Created)
				assert.Equal(t, 1, snap.Gauge)
				assert.Equal(t, []string{before.ID()}, openIDs(p))
				assert.Equal(t, []string{"job " + before.ID()}, sw.Hooks())
				assert.Equal(t, fds, p.FDs, "descriptor table")
				assert.Equal(t, disk, p.Disk, "disk")
				assert.Empty(t, p.ProcessLog())
			})
		}
	})

	t.Run("JB2_create_takes_a_log_descriptor", func(t *testing.T) {
		for _, mode := range []LogMode{Transient, Held} {
			t.Run(mode.String(), func(t *testing.T) {
				p := newTestProcess(t)
				p.LogMode = mode
				p.FDs.Limit = p.FDs.Base + 1

				newJob(t, p, p.NewSwitch("analyse"), "ci-analyse", Low)

				assert.Equal(t, p.FDs.Base+1, p.FDs.Peak(), "peak")
				want := map[LogMode]int{Transient: 0, Held: 1}[mode]
				assert.Equal(t, want, p.FDs.OpenOf(FDLog), "log descriptors open after create")
			})
		}
	})

	t.Run("JB5_transient_log_holds_no_descriptor_between_writes", func(t *testing.T) {
		p := newTestProcess(t)
		require.Equal(t, Transient, p.LogMode, "default log mode")
		sw := p.NewSwitch("solver-remote")
		jobs := []*Job{
			newJob(t, p, sw, "solver-job", Low),
			newJob(t, p, sw, "solver-job", Low),
		}
		for _, j := range jobs {
			require.NoError(t, j.Logf("Waiting for resource in pool OCluster"))
			require.NoError(t, j.Write("Building on solver-1"))
		}

		assert.Zero(t, p.FDs.OpenOf(FDLog), "log descriptors open")
		assert.Equal(t, p.FDs.Base, p.FDs.InUse())
		assert.Equal(t, p.FDs.Base+1, p.FDs.Peak(), "one at a time, during each write")
		requireFulfilled(t, sw.TurnOff())
		assert.Zero(t, p.FDs.OpenOf(FDLog), "log descriptors open after close")
	})

	t.Run("JB5_transient_write_fails_when_descriptor_table_is_full", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("solver-remote"), "solver-job", Low)
		require.NoError(t, j.Logf("Waiting for resource in pool OCluster"))
		woken := j.WaitLog()
		fillFDs(p)

		err := j.Logf("Got resource from pool OCluster")
		rawErr := j.Write("Building on solver-1")

		require.ErrorIs(t, err, ErrTooManyOpenFiles)
		require.ErrorIs(t, rawErr, ErrTooManyOpenFiles)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
		}, j.Log())
		requirePending(t, woken)
		assert.True(t, j.LogOpen(), "a failed write does not close the log")

		// Once a descriptor is free again, writes go through.
		p.FDs.Limit++
		require.NoError(t, j.Logf("Got resource from pool OCluster"))
		requireFulfilled(t, woken)
	})

	t.Run("JB5_held_log_keeps_one_descriptor_per_open_job", func(t *testing.T) {
		p := newTestProcess(t)
		p.LogMode = Held
		first := p.NewSwitch("first")
		second := p.NewSwitch("second")
		var open []int
		for _, sw := range []*Switch{first, first, second} {
			newJob(t, p, sw, "solver-job", Low)
			open = append(open, p.FDs.OpenOf(FDLog))
		}
		assert.Equal(t, []int{1, 2, 3}, open, "log descriptors as jobs are created")

		// Writes take no descriptor of their own: they succeed on a
		// full table.
		fillFDs(p)
		for _, j := range p.OpenJobs() {
			require.NoError(t, j.Logf("Waiting for resource in pool OCluster"))
		}
		assert.Equal(t, 3, p.FDs.OpenOf(FDLog))

		requireFulfilled(t, first.TurnOff())
		assert.Equal(t, 1, p.FDs.OpenOf(FDLog), "after the first switch turns off")
		requireFulfilled(t, second.TurnOff())
		assert.Zero(t, p.FDs.OpenOf(FDLog), "after both switches turn off")
		assert.Equal(t, p.FDs.Base+3, p.FDs.Peak(), "peak")
	})

	t.Run("JB5_held_log_of_leaked_job_stays_open", func(t *testing.T) {
		p := newTestProcess(t)
		p.LogMode = Held
		sw := p.NewSwitch("solver-remote")
		pool := p.NewLocalPool("solver", 1)
		for range 3 {
			j := newJob(t, p, sw, "solver-job", Low)
			StartWith[sim.Unit](j, pool, Average)
		}
		runUntil(t, p, 24*time.Hour)

		assert.Equal(t, 3, p.FDs.OpenOf(FDLog))
		assert.Equal(t, p.FDs.Base+3, p.FDs.InUse())
	})

	t.Run("JB5_write_fails_when_disk_budget_is_spent", func(t *testing.T) {
		for _, mode := range []LogMode{Transient, Held} {
			t.Run(mode.String(), func(t *testing.T) {
				p := newTestProcess(t)
				p.LogMode = mode
				j := newJob(t, p, p.NewSwitch("solver-remote"), "solver-job", Low)
				first := "2026-06-02 15:02.13: Waiting for resource in pool OCluster"
				p.Disk.Budget = int64(len(first) + 1) // the line and its newline

				require.NoError(t, j.Logf("Waiting for resource in pool OCluster"))
				assert.Equal(t, p.Disk.Budget, p.Disk.Used, "disk used")
				err := j.Logf("Got resource from pool OCluster")
				rawErr := j.Write("x")

				require.ErrorIs(t, err, ErrNoSpace)
				require.ErrorIs(t, rawErr, ErrNoSpace)
				assert.Equal(t, []string{first}, j.Log())
				assert.Equal(t, p.Disk.Budget, p.Disk.Used, "a failed write takes no space")
				want := map[LogMode]int{Transient: 0, Held: 1}[mode]
				assert.Equal(t, want, p.FDs.OpenOf(FDLog), "log descriptors open")
			})
		}
	})

	t.Run("JB5_injected_write_failure_fails_that_write_only", func(t *testing.T) {
		p := newTestProcess(t)
		j := newJob(t, p, p.NewSwitch("solver-remote"), "solver-job", Low)
		var asked []string
		p.Inject = injectAt(SiteJobLog, "Got resource from pool OCluster",
			ErrTooManyOpenFiles, &asked)

		require.NoError(t, j.Logf("Waiting for resource in pool OCluster"))
		err := j.Logf("Got resource from pool %s", "OCluster")
		require.NoError(t, j.Write("Building on solver-1"))

		require.ErrorIs(t, err, ErrTooManyOpenFiles)
		assert.Equal(t, []string{
			"2026-06-02 15:02.13: Waiting for resource in pool OCluster",
			"Building on solver-1",
		}, j.Log())
		assert.Equal(t, []string{
			"job-log: Waiting for resource in pool OCluster",
			"job-log: Got resource from pool OCluster",
			"job-log: Building on solver-1",
		}, asked, "fault sites asked, with the message untimestamped")
		assert.Zero(t, p.FDs.OpenOf(FDLog))
	})

	t.Run("JB5_write_to_closed_job_needs_no_descriptor_and_never_fails", func(t *testing.T) {
		p := newTestProcess(t)
		sw := p.NewSwitch("solver-remote")
		j := newJob(t, p, sw, "solver-job", Low)
		requireFulfilled(t, sw.TurnOff())
		fillFDs(p)
		p.Disk = Disk{Budget: 1, Used: 1}
		var asked []string
		p.Inject = injectAt(SiteJobLog, "Got resource from pool OCluster",
			ErrTooManyOpenFiles, &asked)

		require.NoError(t, j.Logf("Got resource from pool OCluster"))

		assert.Empty(t, j.Log())
		assert.Empty(t, asked, "fault sites asked")
		assert.Len(t, p.ProcessLog(), 1)
	})

	t.Run("JB5_parse_log_mode", func(t *testing.T) {
		for _, mode := range []LogMode{Transient, Held} {
			got, err := ParseLogMode(mode.String())
			require.NoError(t, err)
			assert.Equal(t, mode, got, "ParseLogMode(%q)", mode.String())
		}
		_, err := ParseLogMode("open")
		assert.EqualError(t, err, `unknown log mode "open" (valid: transient, held)`)
	})
}
