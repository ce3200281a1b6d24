package model

import (
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// A hook stack behaves as a slice it appends to and truncates, across the
// inline slots and many chunks, and lets go of the chunks it empties.
func TestHookStackIsASlice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var st hookStack
		var want []namedHook
		steps := rapid.IntRange(0, 40).Draw(t, "steps")
		for range steps {
			if n := len(want); n > 0 && rapid.Bool().Draw(t, "pop") {
				k := rapid.IntRange(1, n).Draw(t, "pops")
				for range k {
					got := st.pop()
					if top := want[len(want)-1]; got.name != top.name {
						t.Fatalf("pop = %q, want %q", got.name, top.name)
					}
					want = want[:len(want)-1]
				}
				continue
			}
			k := rapid.IntRange(1, 3*hookChunk).Draw(t, "pushes")
			for range k {
				h := namedHook{name: strconv.Itoa(len(want)), kind: ResHook}
				st.push(h)
				want = append(want, h)
			}
		}
		if st.len() != len(want) {
			t.Fatalf("len = %d, want %d", st.len(), len(want))
		}
		for i, h := range want {
			if got := st.at(i).name; got != h.name {
				t.Fatalf("at(%d) = %q, want %q", i, got, h.name)
			}
		}
		chunks := 0
		if n := chunked(len(want)); n > 0 {
			chunks = (n + hookChunk - 1) / hookChunk
		}
		if len(st.chunks) != chunks {
			t.Fatalf("%d chunks for %d hooks, want %d", len(st.chunks), len(want), chunks)
		}
	})
}
