package fault

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/jobsim/jobsim/model"
	"github.com/jobsim/jobsim/sim"
)

// Random is a random fault plan in the manner of FoundationDB's BUGGIFY:
// when the run starts, each pair of a kind and one of its sites is
// switched on with probability Enable; then, each time the run passes a
// site, each kind switched on there fires with probability Fire.
//
// Every decision is a hash of the seed's "faults" stream, the kind, the
// site and the number of the pass, never a draw in sequence: the nth pass
// of a site gets the same decision in every run of the seed, whatever
// happened at other sites. So designs compared on one seed see the same
// faults at the same passes for as long as their runs pass the site
// alike, and the workload's draws, on streams of their own, never move.
type Random struct {
	Enable float64
	Fire   float64
	// Kinds limits the kinds drawn from; empty means all that fire at
	// sites.
	Kinds []string

	base uint64
	on   map[model.Site][]string // kinds switched on per site, in kind order
}

// ParseRandom reads a random plan: "random", or "random:ENABLE:FIRE" with
// two probabilities, optionally followed by ":kind,kind…".
func ParseRandom(spec string) (*Random, error) {
	parts := strings.Split(spec, ":")
	if parts[0] != "random" {
		return nil, fmt.Errorf("parse random faults: %q does not start with \"random\"", spec)
	}
	r := &Random{Enable: 0.5, Fire: 0.05}
	if len(parts) == 2 || len(parts) > 4 {
		return nil, fmt.Errorf("parse random faults: want random or random:ENABLE:FIRE[:KINDS], got %q", spec)
	}
	if len(parts) >= 3 {
		for i, dst := range []*float64{&r.Enable, &r.Fire} {
			p, err := strconv.ParseFloat(parts[1+i], 64)
			if err != nil || !(p >= 0 && p <= 1) { // NaN fails both
				return nil, fmt.Errorf("parse random faults: probability %q is not a number from 0 to 1", parts[1+i])
			}
			*dst = p
		}
	}
	if len(parts) == 4 {
		for _, k := range strings.Split(parts[3], ",") {
			kind, ok := kinds[k]
			if !ok {
				return nil, fmt.Errorf("parse random faults: unknown fault kind %q (valid: %s)", k, strings.Join(KindNames(), ", "))
			}
			if len(kind.Sites) == 0 {
				return nil, fmt.Errorf("parse random faults: %s fires only at a time, not at random sites", k)
			}
			r.Kinds = append(r.Kinds, k)
		}
	}
	return r, nil
}

// String writes the random plan as ParseRandom reads it.
func (r *Random) String() string {
	s := fmt.Sprintf("random:%g:%g", r.Enable, r.Fire)
	if len(r.Kinds) > 0 {
		s += ":" + strings.Join(r.Kinds, ",")
	}
	return s
}

// enable switches the kinds on, site by site.
func (r *Random) enable(s *sim.Sim) {
	r.base = s.Stream("faults").Uint64()
	r.on = map[model.Site][]string{}
	for _, k := range kindList {
		if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, k.Name) || len(k.Sites) == 0 {
			continue
		}
		for _, site := range k.Sites {
			if r.chance(k.Name, site, 0) < r.Enable {
				r.on[model.Site(site)] = append(r.on[model.Site(site)], k.Name)
			}
		}
	}
}

// draw returns the kinds that fire at the nth pass through site, among
// the error kinds or the others.
func (r *Random) draw(site model.Site, n int, errs bool) []string {
	var out []string
	for _, kind := range r.on[site] {
		if errorKinds[kind] != errs || r.chance(kind, string(site), n) >= r.Fire {
			continue
		}
		out = append(out, kind)
		if errs {
			break // one error per pass
		}
	}
	return out
}

// chance is the decision for kind at the nth pass of site (0: whether it
// is switched on), uniform in [0, 1).
func (r *Random) chance(kind, site string, n int) float64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{'@'})
	h.Write([]byte(site))
	x := r.base ^ h.Sum64() ^ uint64(n)*0x9e3779b97f4a7c15
	// splitmix64's finaliser spreads the bits.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// Enabled returns the kinds switched on, as "kind@site", in a fixed order.
func (r *Random) Enabled() []string {
	var out []string
	for _, k := range kindList {
		for _, site := range k.Sites {
			if slices.Contains(r.on[model.Site(site)], k.Name) {
				out = append(out, k.Name+"@"+site)
			}
		}
	}
	return out
}
