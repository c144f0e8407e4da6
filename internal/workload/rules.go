package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/hindsightdev/hindsight/rule"
)

// RulesConfig shapes generated rules. The zero value is usable.
type RulesConfig struct {
	// Customers is how many customers own rules (c-0000 …). Default 100.
	Customers int
	// GlobalPercent is the share of global rules, 0–100. Default 20.
	GlobalPercent int
	// GlobalRules, when positive, makes exactly the first GlobalRules rules global and
	// the rest customers' own, as in a multi-tenant deployment where rules grow with
	// customers. It overrides GlobalPercent.
	GlobalRules int
	// MaxThreshold bounds thresholds, drawn from 1..MaxThreshold. Default 5.
	MaxThreshold int
	// Nested adds any/not combinations, so that matching must handle them; benchmarks
	// of realistic rule sets leave it off (most real alerts are a conjunction).
	Nested bool
}

// Rules returns n validated rules over the fields of generated events, drawn from a
// fixed pool of paths so that, as in production, many rules share paths. Rule i has id
// "r-<i>".
func Rules(seed uint64, n int, cfg RulesConfig) []*rule.Rule {
	if cfg.Customers <= 0 {
		cfg.Customers = 100
	}
	if cfg.GlobalPercent == 0 {
		cfg.GlobalPercent = 20
	}
	if cfg.MaxThreshold <= 0 {
		cfg.MaxThreshold = 5
	}
	rng := rand.New(rand.NewPCG(seed, seed*31+7))
	out := make([]*rule.Rule, 0, n)
	for i := range n {
		scope := rule.GlobalScope
		if cfg.GlobalRules > 0 {
			if i >= cfg.GlobalRules {
				scope = CustomerID(rng.IntN(cfg.Customers))
			}
		} else if rng.IntN(100) >= cfg.GlobalPercent {
			scope = CustomerID(rng.IntN(cfg.Customers))
		}
		r := &rule.Rule{
			ID:        fmt.Sprintf("r-%d", i),
			Scope:     scope,
			Version:   1,
			Name:      fmt.Sprintf("generated rule %d", i),
			When:      genCondition(rng, cfg.Nested, 0),
			Threshold: rule.AtLeast(float64(1 + rng.IntN(cfg.MaxThreshold))),
		}
		if err := r.Validate(); err != nil {
			panic(fmt.Sprintf("workload: generated an invalid rule: %v", err))
		}
		out = append(out, r)
	}
	return out
}

func genCondition(rng *rand.Rand, nested bool, depth int) *rule.Condition {
	if nested && depth < 2 {
		switch rng.IntN(6) {
		case 0:
			return &rule.Condition{Any: []*rule.Condition{genLeaf(rng), genCondition(rng, nested, depth+1)}}
		case 1:
			return &rule.Condition{All: []*rule.Condition{genLeaf(rng), {Not: genCondition(rng, nested, depth+1)}}}
		case 2:
			return &rule.Condition{Not: genLeaf(rng)}
		}
	}
	// Most alert rules name the kind of event they are about, then refine it: "failed
	// logins by admins from outside the EU". A few test one property of any event.
	if rng.IntN(8) == 0 {
		return genLeaf(rng)
	}
	all := []*rule.Condition{{Path: "$.type", Op: rule.OpEq, Value: raw(EventTypes[rng.IntN(len(EventTypes))])}}
	if rng.IntN(5) == 0 {
		all[0] = &rule.Condition{Path: "$.type", Op: rule.OpIn, Value: raw([]string{EventTypes[rng.IntN(len(EventTypes))], EventTypes[rng.IntN(len(EventTypes))]})}
	}
	for range rng.IntN(3) {
		all = append(all, genLeaf(rng))
	}
	if len(all) == 1 {
		return all[0]
	}
	return &rule.Condition{All: all}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func genLeaf(rng *rand.Rand) *rule.Condition {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	switch rng.IntN(16) {
	case 0, 1, 2:
		return &rule.Condition{Path: "$.type", Op: rule.OpEq, Value: raw(pick(EventTypes))}
	case 3:
		return &rule.Condition{Path: "$.actor.roles[*]", Op: rule.OpEq, Value: raw(pick(roles))}
	case 4:
		return &rule.Condition{Path: "$.actor.geo.country", Op: rule.OpIn, Value: raw([]string{pick(countries), pick(countries)})}
	case 5:
		return &rule.Condition{Path: "$.outcome", Op: rule.OpEq, Value: raw(pick([]string{"success", "failure"}))}
	case 6:
		return &rule.Condition{Path: "$['client']['app']", Op: rule.OpEq, Value: raw(pick(apps))}
	case 7:
		return &rule.Condition{Path: "$.severity", Op: rule.OpGe, Value: raw(1 + rng.IntN(5))}
	case 8:
		return &rule.Condition{Path: "$.risk.score", Op: rule.OpGt, Value: raw(float64(rng.IntN(100)))}
	case 9:
		return &rule.Condition{Path: "$.risk.signals[*]", Op: rule.OpEq, Value: raw(pick(signals))}
	case 10:
		return &rule.Condition{Path: "$.tags", Op: rule.OpContains, Value: raw(pick(tags))}
	case 11:
		return &rule.Condition{Path: "$.target.type", Op: rule.OpNe, Value: raw(pick(targets))}
	case 12:
		return &rule.Condition{Path: "$.session.mfa", Op: rule.OpEq, Value: raw(rng.IntN(2) == 0)}
	case 13:
		return &rule.Condition{Path: "$.actor.email", Op: rule.OpMatches, Value: raw(fmt.Sprintf("^user%d", rng.IntN(50)))}
	case 14:
		return &rule.Condition{Path: "$.actor.id", Op: rule.OpEq, Value: raw(fmt.Sprintf("u-%d", rng.IntN(5000)))}
	default:
		return &rule.Condition{Path: "$.risk.signals[0]", Op: rule.OpExists}
	}
}
