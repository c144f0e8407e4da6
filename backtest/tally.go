package backtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// tally counts each rule's matches and firings as the events go by.
type tally struct {
	rules []*rule.Rule
	of    map[*rule.Rule]*ruleTally
}

type ruleTally struct {
	out       contract.BacktestRule
	days      contract.DayCounts
	customers map[string]int
	groups    map[groupKey]int
	// ranked bounds customers and groups (Limits.MaxGroups, --max-groups; not a rule's
	// own, which bounds the groups open at once, not those history saw): the rankings
	// list the first to fire; unranked counts the firings either left out. Kept whole,
	// they held every customer and group that ever fired, one per event when each event
	// has a group of its own, to report ten.
	ranked   int
	unranked int
}

type groupKey struct{ customer, group string }

// newTally's per-day lists keep the latest maxDays days (Config.MaxDays).
func newTally(rules []*rule.Rule, lim window.Limits, maxDays int) *tally {
	t := &tally{rules: slices.Clone(rules), of: map[*rule.Rule]*ruleTally{}}
	slices.SortFunc(t.rules, func(a, b *rule.Rule) int {
		return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.ID, b.ID))
	})
	for _, r := range t.rules {
		t.of[r] = &ruleTally{
			out:  contract.BacktestRule{Scope: r.Scope, ID: r.ID, Version: r.Version},
			days: contract.DayCounts{Max: maxDays}, customers: map[string]int{}, groups: map[groupKey]int{},
			ranked: int(lim.EnsureDefaults().MaxGroups),
		}
	}
	return t
}

func (t *tally) matched(r *rule.Rule) { t.of[r].out.Matches++ }

// fired counts crossing x, raised by an event of record time at.
func (t *tally) fired(x window.Result, at time.Time) error {
	rt := t.of[x.Rule]
	out := &rt.out
	if x.Crossing.Resolved {
		out.Resolved++
		return nil
	}
	out.Firings++
	if out.FirstFiring == nil || at.Before(*out.FirstFiring) {
		out.FirstFiring = timePtr(at)
	}
	if out.LastFiring == nil || at.After(*out.LastFiring) {
		out.LastFiring = timePtr(at)
	}
	rt.days.Add(at.UTC().Format(time.DateOnly), 1)
	cut := !countIn(rt.customers, x.Crossing.Customer, rt.ranked)
	group := "null"
	if len(x.Rule.GroupBy) > 0 {
		g, err := window.GroupJSON(x.Rule.GroupBy, x.Crossing.Group)
		if err != nil {
			return fmt.Errorf("the group of a crossing of rule %s: %w", x.Rule.Key(), err)
		}
		// Marshalled as the alert record's group: members sorted by path.
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("the group of a crossing of rule %s: %w", x.Rule.Key(), err)
		}
		group = string(b)
	}
	if !countIn(rt.groups, groupKey{x.Crossing.Customer, group}, rt.ranked) || cut {
		rt.unranked++
	}
	return nil
}

// countIn adds a firing of k to m unless m holds limit keys without k, saying whether
// it did.
func countIn[K comparable](m map[K]int, k K, limit int) bool {
	if n, ok := m[k]; ok || len(m) < limit {
		m[k] = n + 1
		return true
	}
	return false
}

// stats adds a windowed rule's counters of one partition.
func (t *tally) stats(r *rule.Rule, st *window.State) {
	out := &t.of[r].out
	s := st.Stats()
	out.Late += s.Late
	out.TimeErrors += s.TimeErrors
	out.Suppressed += s.Suppressed
}

// degraded keeps the first reason a partition gave for r's figures being a lower
// bound (window.Replay.Degraded), "" none.
func (t *tally) degraded(r *rule.Rule, why string) {
	if out := &t.of[r].out; why != "" && out.Degraded == "" {
		out.Degraded = why
	}
}

// report is the rules' figures, by scope and id.
func (t *tally) report() []contract.BacktestRule {
	out := make([]contract.BacktestRule, 0, len(t.rules))
	for _, r := range t.rules {
		rt := t.of[r]
		o := rt.out
		o.PerDay, o.PerDayCut = rt.days.List()
		o.Customers = []contract.BacktestCount{}
		for c, n := range rt.customers {
			o.Customers = append(o.Customers, contract.BacktestCount{Key: c, Firings: n})
		}
		slices.SortFunc(o.Customers, func(a, b contract.BacktestCount) int {
			return cmp.Or(cmp.Compare(b.Firings, a.Firings), cmp.Compare(a.Key, b.Key))
		})
		o.CustomersTotal = len(o.Customers)
		o.Customers = o.Customers[:min(len(o.Customers), contract.BacktestTop)]
		o.Groups = []contract.BacktestGroup{}
		for g, n := range rt.groups {
			o.Groups = append(o.Groups, contract.BacktestGroup{Customer: g.customer, Group: json.RawMessage(g.group), Firings: n})
		}
		slices.SortFunc(o.Groups, func(a, b contract.BacktestGroup) int {
			return cmp.Or(cmp.Compare(b.Firings, a.Firings), cmp.Compare(a.Customer, b.Customer), cmp.Compare(string(a.Group), string(b.Group)))
		})
		o.GroupsTotal = len(o.Groups)
		o.Groups = o.Groups[:min(len(o.Groups), contract.BacktestTop)]
		if rt.unranked > 0 {
			o.RankingsCut = fmt.Sprintf("the rankings hold the first %d customers and groups to fire (--max-groups): %d firings of later ones are not ranked", rt.ranked, rt.unranked)
		}
		out = append(out, o)
	}
	return out
}
