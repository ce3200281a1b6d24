package model

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobsim/jobsim/sim"
)

// slotUser is one request to a local pool, made on a switch of its own.
type slotUser struct {
	name   string
	sw     *Switch
	got    *sim.Promise[sim.Unit]
	cancel func() *sim.Promise[sim.Unit]
}

// grantLog records the order in which a pool's requests are granted.
type grantLog struct {
	s       *sim.Sim
	granted []string
}

// request asks lp for a slot on behalf of a new switch labelled name, and
// records "name@elapsed" in gl when the slot is granted.
func (gl *grantLog) request(p *Process, lp *LocalPool, name string, prio Priority) *slotUser {
	u := &slotUser{name: name, sw: p.NewSwitch(name)}
	u.got, u.cancel = lp.Get(prio, u.sw)
	sim.On(u.got, func(_ sim.Unit, err error) {
		if err == nil {
			gl.granted = append(gl.granted, name+"@"+gl.s.Elapsed().String())
		}
	})
	return u
}

// queued returns lp's queue lengths as one comparable value.
func queued(lp *LocalPool) [2]int {
	high, low := lp.Queued()
	return [2]int{high, low}
}

func TestPL_Pool(t *testing.T) {
	t.Run("PL1_high_before_low_fifo_within_each", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}
		users := []*slotUser{
			gl.request(p, lp, "holder", Low),
			gl.request(p, lp, "low-1", Low),
			gl.request(p, lp, "high-1", High),
			gl.request(p, lp, "low-2", Low),
			gl.request(p, lp, "high-2", High),
		}
		require.Equal(t, [2]int{2, 2}, queued(lp), "queued (high, low)")

		// Each holder gives its slot back one second after it got it.
		for _, u := range users {
			sim.On(u.got, func(sim.Unit, error) {
				p.Sim.After(time.Second, func() { u.sw.TurnOff() })
			})
		}
		runIdle(t, p)

		want := []string{"holder@0s", "high-1@1s", "high-2@2s", "low-1@3s", "low-2@4s"}
		assert.Equal(t, want, gl.granted)
		assert.Zero(t, lp.InUse())
	})

	t.Run("PL1_capacity_is_fixed", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 3)
		gl := &grantLog{s: p.Sim}
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			gl.request(p, lp, name, High)
		}

		assert.Equal(t, 3, lp.Capacity())
		assert.Equal(t, 3, lp.InUse())
		assert.Equal(t, []string{"a@0s", "b@0s", "c@0s"}, gl.granted)
		assert.Equal(t, [2]int{2, 0}, queued(lp), "queued (high, low)")
	})

	t.Run("PL2_grant_pushes_release_hook_and_cancel_hook", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}

		holder := gl.request(p, lp, "holder", Low)
		waiter := gl.request(p, lp, "waiter", Low)

		requireFulfilled(t, holder.got)
		assert.Equal(t, 1, lp.InUse())
		release, cancel := "release slot of pool analyse", "cancel request to pool analyse"
		assert.ElementsMatch(t, []string{release, cancel}, holder.sw.Hooks(), "holder's hooks")
		requirePending(t, waiter.got)
		assert.Equal(t, []string{cancel}, waiter.sw.Hooks(), "waiter's hooks")
	})

	t.Run("PL2_slot_freed_only_when_holder_switch_turns_off", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}
		holder := gl.request(p, lp, "holder", Low)
		job := newJob(t, p, holder.sw, "ci-analyse", Low)
		gl.request(p, lp, "waiter", Low)

		// Neither the request's cancel nor a job cancel gives the slot back.
		p.Sim.At(time.Second, func() { holder.cancel() })
		p.Sim.At(2*time.Second, func() { job.Cancel("Cancelled by user") })
		p.Sim.At(time.Minute, func() { holder.sw.TurnOff() })
		runIdle(t, p)

		requireFulfilled(t, holder.got)
		assert.Equal(t, []string{"holder@0s", "waiter@1m0s"}, gl.granted)
		assert.Equal(t, 1, lp.InUse())
	})

	t.Run("PL2_cancel_hook_on_turning_off_switch_waits_for_off", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}
		gl.request(p, lp, "holder", Low)
		sw, unblock := switchIn(t, p, "waiter", TurningOff)

		got, _ := lp.Get(Low, sw)
		requirePending(t, got)
		require.Equal(t, [2]int{0, 1}, queued(lp), "queued (high, low) while turning off")

		p.Sim.At(time.Second, func() { unblock.Resolve(sim.Unit{}) })
		runIdle(t, p)
		requireRejected(t, got, `Cancelled waiting for resource from pool "analyse"`)
		assert.Equal(t, [2]int{0, 0}, queued(lp), "queued (high, low) once off")
	})

	t.Run("PL3_cancel_queued_request_rejects_it", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}
		holder := gl.request(p, lp, "holder", Low)
		first := gl.request(p, lp, "first", Low)
		second := gl.request(p, lp, "second", Low)
		require.Equal(t, [2]int{0, 2}, queued(lp), "queued (high, low)")

		requireFulfilled(t, first.cancel())

		requireRejected(t, first.got, `Cancelled waiting for resource from pool "analyse"`)
		assert.Equal(t, [2]int{0, 1}, queued(lp), "queued (high, low) after cancel")
		requireFulfilled(t, first.cancel()) // a second cancel does nothing

		p.Sim.At(time.Second, func() { holder.sw.TurnOff() })
		runIdle(t, p)
		requireFulfilled(t, second.got)
		assert.Equal(t, []string{"holder@0s", "second@1s"}, gl.granted)
	})

	t.Run("PL4_cancel_hook_is_never_removed", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		gl := &grantLog{s: p.Sim}
		holder := gl.request(p, lp, "holder", Low)
		sw := p.NewSwitch("solver-remote")
		cancel := "cancel request to pool analyse"

		// Three requests on one switch, each cancelled while queued.
		for i := range 3 {
			got, cancelReq := lp.Get(Low, sw)
			requireFulfilled(t, cancelReq())
			requireRejected(t, got, `Cancelled waiting for resource from pool "analyse"`)
			assert.Len(t, sw.Hooks(), i+1, "hooks after use %d", i+1)
		}
		assert.Equal(t, []string{cancel, cancel, cancel}, sw.Hooks())

		// A granted request keeps its cancel hook beside its release hook.
		requireFulfilled(t, holder.sw.TurnOff())
		got, _ := lp.Get(Low, sw)
		requireFulfilled(t, got)
		assert.Equal(t, []string{cancel, cancel, cancel, cancel, "release slot of pool analyse"},
			sw.Hooks())
		assert.Equal(t, 5, sw.PeakHooks())
	})

	t.Run("PL4_each_job_on_a_long_lived_switch_leaves_a_cancel_hook", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 10)
		sw := p.NewSwitch("solver-remote")
		for range 3 {
			j := newJob(t, p, sw, "solver-job", Low)
			requireFulfilled(t, StartWith[sim.Unit](j, lp, Average))
		}

		counts := map[string]int{}
		for _, name := range sw.Hooks() {
			counts[strings.Fields(name)[0]]++
		}
		assert.Equal(t, map[string]int{"job": 3, "cancel": 3, "release": 3}, counts)
		snap := p.Snapshot()
		require.Len(t, snap.Switches, 1)
		assert.Len(t, snap.Switches[0].Hooks, 9)
	})

	t.Run("PL5_switch_turning_off_at_grant_leaks_the_slot", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 1)
		sw, unblock := switchIn(t, p, "solver-remote", TurningOff)

		// The slot is granted at once; the continuation waits for Off.
		got, _ := lp.Get(Low, sw)
		requirePending(t, got)
		assert.Equal(t, 1, lp.InUse())
		p.Sim.At(time.Second, func() { unblock.Resolve(sim.Unit{}) })
		runIdle(t, p)

		requireRejected(t, got, "Switch already off!")
		assert.Equal(t, Off, sw.State())
		want := PoolView{Label: "analyse", Capacity: 1, InUse: 1, Leaked: 1}
		assert.Equal(t, []PoolView{want}, p.Snapshot().Pools)

		// Nobody gets the slot again.
		gl := &grantLog{s: p.Sim}
		next := gl.request(p, lp, "next", Low)
		runIdle(t, p)
		requirePending(t, next.got)
	})

	t.Run("PL5_switch_turning_off_while_queued_leaks_the_slot", func(t *testing.T) {
		p := newTestProcess(t)
		lp := p.NewLocalPool("analyse", 2)
		gl := &grantLog{s: p.Sim}
		holder := gl.request(p, lp, "holder", Low)
		gl.request(p, lp, "keeper", Low)
		waiter := gl.request(p, lp, "waiter", Low)
		unblock := pushBlocker(t, waiter.sw)

		// The waiter's switch starts turning off; then the holder's slot
		// is granted to it, and pushing the release hook fails.
		p.Sim.At(time.Second, func() { waiter.sw.TurnOff() })
		p.Sim.At(2*time.Second, func() { holder.sw.TurnOff() })
		p.Sim.At(3*time.Second, func() { unblock.Resolve(sim.Unit{}) })
		runIdle(t, p)

		requireRejected(t, waiter.got, "Switch is being turned off!")
		assert.Equal(t, Off, waiter.sw.State())
		want := PoolView{Label: "analyse", Capacity: 2, InUse: 2,
			Holders: []string{"keeper"}, Leaked: 1}
		assert.Equal(t, []PoolView{want}, p.Snapshot().Pools)
	})
}
