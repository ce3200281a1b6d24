package model

import (
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

func TestPool(t *testing.T) {
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
}
