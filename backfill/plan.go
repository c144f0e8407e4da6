package backfill

import (
	"fmt"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// LiveRules plans jobs for rules that are live on the controls topic: it names, in the
// given order, the active versions of the rules that reg (the topic's fold) holds. Each
// name is SCOPE/ID, or the ID of a global rule. A name with no active version is an
// error, so a job never runs for a rule the daemon does not have. A rule named twice
// (ID and */ID) is planned once: twice, each of its counts was reported twice.
func LiveRules(reg *controls.Registry, names []string) ([]*rule.Rule, error) {
	out := make([]*rule.Rule, 0, len(names))
	seen := map[rule.Key]bool{}
	for _, name := range names {
		k, err := rule.ParseKey(name)
		if err != nil {
			k = rule.Key{Scope: rule.GlobalScope, ID: name}
		}
		r, ok := reg.Get(k)
		if !ok {
			return nil, fmt.Errorf("backfill: no live rule %s on the controls topic", k)
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out, nil
}
