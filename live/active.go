package live

import (
	"fmt"
	"maps"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// activeSet is an immutable view of the active rule versions, swapped atomically for
// the evaluator whenever the controls change. Counters are keyed by a version's Seq.
type activeSet struct {
	set    *rule.Set
	byRule map[*rule.Rule]*controls.Version
	byKey  map[rule.Key]*controls.Version
	byID   map[uint32]*controls.Version
}

// newActiveSet indexes the active versions for matching: the whole index, in time
// linear in the rules. Once the rules are loaded, with applies changes.
func newActiveSet(vs []*controls.Version) (*activeSet, error) {
	s := &activeSet{byRule: make(map[*rule.Rule]*controls.Version, len(vs)), byKey: make(map[rule.Key]*controls.Version, len(vs)),
		byID: make(map[uint32]*controls.Version, len(vs))}
	rules := make([]*rule.Rule, 0, len(vs))
	for _, v := range vs {
		rules = append(rules, v.Rule)
		s.byRule[v.Rule], s.byKey[v.Key], s.byID[v.Seq] = v, v, v
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		return nil, fmt.Errorf("live: indexing %d rules: %w", len(rules), err)
	}
	s.set = set
	return s, nil
}

// with derives the active set in which put are the active versions of their keys and the
// keys in removed have none; s is unchanged, since partitions and HTTP readers may still
// hold it. The rule index is rebuilt only for the scopes put and removed name
// (rule.Set.With): a customer's control costs time linear in that customer's rules.
//
// The three lookup maps are cloned whole, since the evaluator, the partitions and the
// HTTP handlers read them as maps: cloning copies memory without rehashing, a small cost
// per rule, but a cost per rule all the same.
func (s *activeSet) with(put []*controls.Version, removed []rule.Key) (*activeSet, error) {
	rules := make([]*rule.Rule, len(put))
	for i, v := range put {
		rules[i] = v.Rule
	}
	set, err := s.set.With(rules, removed)
	if err != nil {
		return nil, fmt.Errorf("live: indexing %d changed rules: %w", len(put)+len(removed), err)
	}
	next := &activeSet{set: set, byRule: maps.Clone(s.byRule), byKey: maps.Clone(s.byKey), byID: maps.Clone(s.byID)}
	drop := func(k rule.Key) {
		if v := next.byKey[k]; v != nil {
			delete(next.byRule, v.Rule)
			delete(next.byID, v.Seq)
			delete(next.byKey, k)
		}
	}
	for _, k := range removed {
		drop(k)
	}
	for _, v := range put {
		drop(v.Key)
		next.byRule[v.Rule], next.byKey[v.Key], next.byID[v.Seq] = v, v, v
	}
	return next, nil
}
