package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

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
	// WindowedPercent, 0–100, is the share of rules that aggregate per group and time
	// window instead of counting: group_by an actor path, 5m or 10m windows, count,
	// sum, max, avg or min with a rarely passed threshold. They are spread evenly,
	// exactly n·WindowedPercent/100 of n rules, and drawn from a stream of their own:
	// ids, scopes and conditions are those of the same seed without WindowedPercent,
	// so that the two sets match the same events and differ only in what they keep.
	// Default 0: every rule a plain running count.
	WindowedPercent int
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
	cfg.WindowedPercent = min(max(cfg.WindowedPercent, 0), 100)
	rng := rand.New(rand.NewPCG(seed, seed*31+7))
	// A second stream for the windowed rules' shape, so that the main stream, and
	// with it every condition, is the same whatever WindowedPercent.
	wrng := rand.New(rand.NewPCG(seed^0x2545f4914f6cdd1d, seed*131+3))
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
		// Rule i is windowed when the running share crosses an integer there: exactly
		// n·p/100 rules, evenly spread over ids, scopes and global/customer rules.
		if (i+1)*cfg.WindowedPercent/100 > i*cfg.WindowedPercent/100 {
			windowize(wrng, r)
		}
		if err := r.Validate(); err != nil {
			panic(fmt.Sprintf("workload: generated an invalid rule: %v", err))
		}
		out = append(out, r)
	}
	return out
}

// windowGroupBys are the group_by choices of windowed rules, by weight: mostly the
// actor, as in "failed logins per user in 10 minutes"; a few a coarser or a composite
// group.
var windowGroupBys = []struct {
	paths  []string
	weight int
}{
	{[]string{"$.actor.id"}, 5},
	{[]string{"$.actor.email"}, 2},
	{[]string{"$.actor.id", "$.client.app"}, 2},
	{[]string{"$.actor.geo.country"}, 1},
}

// windowize turns r into a rule that aggregates per group and time window: group_by an
// actor path; count or sum over a 10m window every 1m or a tumbling 5m one, or max,
// avg or min over a tumbling 5m one; the record timestamp or the events' own "$.time"
// as event time; and a threshold that few (group, window) pairs pass, as real alerts
// are rare. max, avg and min hop no windows: a value past their threshold passes it in
// every window it falls in at once, ten alerts for one event on a 10m/1m window.
// count_distinct is left out: its per-window value sets make it a different kind of
// state.
func windowize(rng *rand.Rand, r *rule.Rule) {
	total := 0
	for _, g := range windowGroupBys {
		total += g.weight
	}
	w := rng.IntN(total)
	for _, g := range windowGroupBys {
		if w < g.weight {
			r.GroupBy = append([]string(nil), g.paths...)
			break
		}
		w -= g.weight
	}
	if rng.IntN(3) == 0 {
		r.Time = "$.time"
	}
	tumbling := &rule.Window{Size: rule.Duration(5 * time.Minute)}
	r.Window = tumbling
	if rng.IntN(2) == 0 {
		r.Window = &rule.Window{Size: rule.Duration(10 * time.Minute), Every: rule.Duration(time.Minute)}
	}
	// risk.score is uniform in [0, 100) in hundredths; bytes in [0, 50M);
	// session.duration_ms in [0, 1h).
	switch k := rng.IntN(100); {
	case k < 40:
		r.Aggregate = rule.Aggregate{Fn: rule.AggCount}
		r.Threshold = rule.AtLeast(float64(3 + rng.IntN(8)))
	case k < 65:
		r.Aggregate = rule.Aggregate{Fn: rule.AggSum, Path: "$.bytes"}
		r.Threshold = rule.Threshold{Op: rule.OpGt, Value: float64(100_000_000 + 50_000_000*rng.IntN(4))}
	case k < 85:
		r.Aggregate = rule.Aggregate{Fn: rule.AggMax, Path: "$.risk.score"}
		r.Threshold = rule.Threshold{Op: rule.OpGt, Value: 99 + 0.1*float64(rng.IntN(9))}
		r.Window = tumbling
	case k < 93:
		r.Aggregate = rule.Aggregate{Fn: rule.AggAvg, Path: "$.risk.score"}
		r.Threshold = rule.Threshold{Op: rule.OpGe, Value: 99 + 0.1*float64(rng.IntN(9))}
		r.Window = tumbling
	default:
		r.Aggregate = rule.Aggregate{Fn: rule.AggMin, Path: "$.session.duration_ms"}
		r.Threshold = rule.Threshold{Op: rule.OpLt, Value: float64(1000 * (1 + rng.IntN(5)))}
		r.Window = tumbling
	}
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
