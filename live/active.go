package live

import (
	"fmt"
	"maps"
	"math"
	"sync/atomic"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// activeSet is an immutable view of the active rule versions, swapped atomically for
// the evaluator whenever the controls change. Counters are keyed by a version's Seq.
//
// Its version lookups (by rule, key and Seq) are a base, plain maps shared by every set
// derived from the one that built them, and an overlay of the changes since that base:
// versions put, and nil for versions gone. Publishing a control copies the overlay, not
// the base, so it costs time in the changes since the base, which the bound on the
// overlay (mergeBound) keeps small; the bound's merge, linear in the rules, is then paid
// once per that many changed keys. Lookups consult the overlay only when it is
// non-empty (a set built whole, at start and after a merge, has none), and the
// evaluator's (versionOfMatched) only for rules changed since the base: one map lookup
// per matched rule, as with plain maps, and only for a crossing or a windowed rule whose
// version the partition's state cache does not know yet under this set (a plain count
// is counted under its rule's Seq, rule.Rule.Seq; a windowed rule finds its version and
// state by the rule, partition.matchedWindow).
type activeSet struct {
	set *rule.Set
	// id tells this set apart from every other (see from): sets are compared by id,
	// not pointer, so that a set does not keep its predecessors alive.
	id uint64
	// The base's maps: never written once built.
	baseRule map[*rule.Rule]*controls.Version
	baseKey  map[rule.Key]*controls.Version
	baseID   map[uint32]*controls.Version
	// The overlay: an entry overrides the base's, nil meaning no active version. Empty
	// (nil) in a set built whole.
	ovRule map[*rule.Rule]*controls.Version
	ovKey  map[rule.Key]*controls.Version
	ovID   map[uint32]*controls.Version
	n      int // active versions
	// from is the id of the set this one was derived from by with (0: built whole);
	// put are the versions active here but not there and gone those active there but
	// not here. A partition that adopted that set adopts this one by applying them
	// (partition.reconcile), in time linear in the change, not in the rules.
	from uint64
	put  []*controls.Version
	gone []*controls.Version
	// controls is the offset of the last control folded into the set (-1: none): a
	// snapshot records the one its partition adopted (endedreplay.go). While the set is
	// the current one, a fold of controls that changes no rule moves it on in place.
	controls atomic.Int64
}

// activeSetIDs numbers the sets (activeSet.id); 0 is never used.
var activeSetIDs atomic.Uint64

// newActiveSet indexes the active versions for matching: the whole index, in time
// linear in the rules. Once the rules are loaded, with applies changes.
func newActiveSet(vs []*controls.Version) (*activeSet, error) {
	s := &activeSet{id: activeSetIDs.Add(1), n: len(vs), baseRule: make(map[*rule.Rule]*controls.Version, len(vs)),
		baseKey: make(map[rule.Key]*controls.Version, len(vs)), baseID: make(map[uint32]*controls.Version, len(vs))}
	s.controls.Store(-1)
	rules := make([]*rule.Rule, 0, len(vs))
	for _, v := range vs {
		rules = append(rules, v.Rule)
		s.baseRule[v.Rule], s.baseKey[v.Key], s.baseID[v.Seq] = v, v, v
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		return nil, fmt.Errorf("live: indexing %d rules: %w", len(rules), err)
	}
	s.set = set
	return s, nil
}

// versionOfRule is the active version whose rule is r, nil if none.
func (s *activeSet) versionOfRule(r *rule.Rule) *controls.Version {
	if len(s.ovRule) > 0 {
		if v, ok := s.ovRule[r]; ok {
			return v
		}
	}
	return s.baseRule[r]
}

// versionOfMatched is versionOfRule for a rule of s.set, the evaluator's lookup for
// a rule an event matches: one map lookup unless r changed since the base, even
// with an overlay. The base holds r only under r's active version, since a version's
// rule is its own (each upsert decodes one) and with merges rather than shadow a base
// entry of r with another version; only entries of rules no longer active can be out
// of date, and those never match.
func (s *activeSet) versionOfMatched(r *rule.Rule) *controls.Version {
	if v := s.baseRule[r]; v != nil {
		return v
	}
	return s.ovRule[r]
}

// version is the active version of k, nil if none.
func (s *activeSet) version(k rule.Key) *controls.Version {
	if len(s.ovKey) > 0 {
		if v, ok := s.ovKey[k]; ok {
			return v
		}
	}
	return s.baseKey[k]
}

// versionByID is the active version whose Seq is id, nil if none.
func (s *activeSet) versionByID(id uint32) *controls.Version {
	if len(s.ovID) > 0 {
		if v, ok := s.ovID[id]; ok {
			return v
		}
	}
	return s.baseID[id]
}

// eachVersion calls fn with every active version, in no particular order.
func (s *activeSet) eachVersion(fn func(*controls.Version)) {
	for k, v := range s.baseKey {
		if _, ok := s.ovKey[k]; !ok {
			fn(v)
		}
	}
	for _, v := range s.ovKey {
		if v != nil {
			fn(v)
		}
	}
}

// len is the number of active versions.
func (s *activeSet) len() int { return s.n }

// mergeBound is the number of keys an overlay over a base of n versions may hold
// before the next publish merges it into a new base. A publish copies the overlay, k
// keys on average half the bound b, and the merge copies the n versions once per b
// changed keys: b/2 + n/b per key, least at b = √(2n) (141 at 10,000 rules, 1,414 at a
// million), where a bound proportional to n (n/8, say) would make each publish copy a
// fixed share of the rules, linear in them again. The floor of 256 keeps small sets
// from merging every few controls: an overlay that size copies in microseconds.
func mergeBound(n int) int {
	return max(256, int(math.Sqrt(2*float64(n))))
}

// with derives the active set in which put are the active versions of their keys and the
// keys in removed have none; s is unchanged, since partitions and HTTP readers may still
// hold it. The rule index is rebuilt only for the scopes put and removed name
// (rule.Set.With): a customer's control costs time linear in that customer's rules. The
// lookups cost time linear in the overlay (see activeSet), except for the publish that
// takes the overlay past mergeBound, which merges it into a new base (as does one that
// gives a rule of the base another version, which the registry's versions never do).
func (s *activeSet) with(put []*controls.Version, removed []rule.Key) (*activeSet, error) {
	rules := make([]*rule.Rule, len(put))
	for i, v := range put {
		rules[i] = v.Rule
	}
	set, err := s.set.With(rules, removed)
	if err != nil {
		return nil, fmt.Errorf("live: indexing %d changed rules: %w", len(put)+len(removed), err)
	}
	next := &activeSet{set: set, id: activeSetIDs.Add(1), from: s.id, n: s.n}
	next.controls.Store(-1)
	// The changes are written to the overlay, or, when merging, to the new base.
	// Lookups on next see the changes made so far, as drop needs.
	var toRule map[*rule.Rule]*controls.Version
	var toKey map[rule.Key]*controls.Version
	var toID map[uint32]*controls.Version
	merge := len(s.ovKey)+len(put)+len(removed) > mergeBound(len(s.baseKey))
	for _, v := range put {
		if b := s.baseRule[v.Rule]; b != nil && b != v {
			merge = true // a rule shared by two versions: see versionOfMatched
		}
	}
	if merge {
		next.baseRule, next.baseKey, next.baseID = s.merged()
		toRule, toKey, toID = next.baseRule, next.baseKey, next.baseID
	} else {
		next.baseRule, next.baseKey, next.baseID = s.baseRule, s.baseKey, s.baseID
		next.ovRule, next.ovKey, next.ovID = cloneOrMake(s.ovRule), cloneOrMake(s.ovKey), cloneOrMake(s.ovID)
		toRule, toKey, toID = next.ovRule, next.ovKey, next.ovID
	}
	merging := next.ovKey == nil
	drop := func(k rule.Key) {
		v := next.version(k)
		if v == nil {
			return
		}
		if merging {
			delete(toRule, v.Rule)
			delete(toKey, k)
			delete(toID, v.Seq)
			return
		}
		unset(toRule, next.baseRule, v.Rule)
		unset(toKey, next.baseKey, k)
		unset(toID, next.baseID, v.Seq)
	}
	for _, k := range removed {
		drop(k)
	}
	for _, v := range put {
		if next.version(v.Key) != v {
			drop(v.Key)
			toRule[v.Rule], toKey[v.Key], toID[v.Seq] = v, v, v
		}
	}
	// What changed, per key: what partitions adopting next from s apply.
	seen := make(map[rule.Key]bool, len(put)+len(removed))
	note := func(k rule.Key) {
		if seen[k] {
			return
		}
		seen[k] = true
		was, is := s.version(k), next.version(k)
		if was == is {
			return
		}
		if was != nil {
			next.gone = append(next.gone, was)
			next.n--
		}
		if is != nil {
			next.put = append(next.put, is)
			next.n++
		}
	}
	for _, k := range removed {
		note(k)
	}
	for _, v := range put {
		note(v.Key)
	}
	return next, nil
}

// merged is a new base: s's base with its overlay applied, in time linear in the rules.
func (s *activeSet) merged() (map[*rule.Rule]*controls.Version, map[rule.Key]*controls.Version, map[uint32]*controls.Version) {
	return mergeInto(maps.Clone(s.baseRule), s.ovRule), mergeInto(maps.Clone(s.baseKey), s.ovKey), mergeInto(maps.Clone(s.baseID), s.ovID)
}

// mergeInto applies the overlay ov to base, which it returns.
func mergeInto[K comparable](base, ov map[K]*controls.Version) map[K]*controls.Version {
	for k, v := range ov {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return base
}

// unset takes k out of the overlay ov: a nil entry (no active version) if base has k,
// else none.
func unset[K comparable](ov, base map[K]*controls.Version, k K) {
	if _, ok := base[k]; ok {
		ov[k] = nil
	} else {
		delete(ov, k)
	}
}

// cloneOrMake copies the overlay m, or makes an empty one.
func cloneOrMake[K comparable](m map[K]*controls.Version) map[K]*controls.Version {
	if m == nil {
		return map[K]*controls.Version{}
	}
	return maps.Clone(m)
}
