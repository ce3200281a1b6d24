package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// AfterEvent's hook runs once after every event, seeing the event's step
// and time, and may stop the run.
func TestAfterEvent(t *testing.T) {
	s := New(Config{Seed: 1})
	var seen []string
	for i := 1; i <= 3; i++ {
		s.At(time.Duration(i)*time.Second, func() { seen = append(seen, "event") })
	}
	s.AfterEvent(func() {
		seen = append(seen, "after step "+string(rune('0'+s.Steps()))+" at "+s.Elapsed().String())
		if s.Steps() == 2 {
			s.Stop()
		}
	})
	out := s.Run(Budget{})
	assert.Equal(t, Stopped, out.Reason, "the hook stops the run after step 2")
	assert.Equal(t, []string{
		"event", "after step 1 at 1s",
		"event", "after step 2 at 2s",
	}, seen)

	s.AfterEvent(nil)
	s.Run(Budget{})
	assert.Len(t, seen, 5, "with the hook removed, the last event runs alone")
}
