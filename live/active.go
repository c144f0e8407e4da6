package live

import (
	"fmt"

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

// newActiveSet indexes the active versions for matching.
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
