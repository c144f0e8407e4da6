package controls

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Destinations and mutes fold like rules but have no versions: an upsert replaces
// what its key held (the newest control wins), a delete removes it. New keys beyond
// max_destinations or max_mutes are rejected, like a rule beyond max_rules.

// applyNotify folds a destination or mute control. The caller holds g.mu.
func (g *Registry) applyNotify(rec Record) (outcome, message string) {
	c := rec.Control
	k := c.Key()
	if c.Kind() == rule.KindDestination {
		return applyKeyed(g, rec, g.dests, k, c.Destination, rule.CurrentLimits().MaxDestinations, rule.LimitDestinations, "destinations")
	}
	if c.Op == rule.OpDelete {
		// The mute deleted may be one that ended (the console lists those, to unmute):
		// deleted first, it is found, and the delete answered ok, not not_found.
		defer g.forgetEndedMutes(rec.Time)
	} else {
		g.forgetEndedMutes(rec.Time)
	}
	return applyKeyed(g, rec, g.mutes, k, c.Mute, rule.CurrentLimits().MaxMutes, rule.LimitMutes, "mutes")
}

// forgetEndedMutes drops the mutes that had ended at t, the time of the mute control
// being folded. max_mutes bounds the mutes in force: kept, ended ones (every mute "for
// 2h" from the console) filled it for good, and refused every later mute though none
// was in force. Done at every mute control, not only one that needs room, a fold of the
// compacted topic forgets the same ones: the newest mute control is always kept, and
// with it the time the last forgetting was judged at (record times rising with
// offsets). Nothing checks a mute against a time before its record's (alerts are
// checked against the clock). The caller holds g.mu.
func (g *Registry) forgetEndedMutes(t time.Time) {
	for k, m := range g.mutes {
		if !m.Until.IsZero() && !t.Before(m.Until) {
			delete(g.mutes, k)
		}
	}
}

func applyKeyed[T any](g *Registry, rec Record, m map[rule.Key]*T, k rule.Key, v *T, limit int, limitName, what string) (string, string) {
	switch rec.Control.Op {
	case rule.OpUpsert:
		old, held := m[k]
		if held && reflect.DeepEqual(*old, *v) {
			// What the key holds already (a Keeper, a file applied again): no change,
			// or each such upsert would make the Keepers written after it stale (two
			// daemons' Keepers of one control overtook each other without end).
			return contract.ControlOK, Unchanged
		}
		if !held && len(m) >= limit {
			msg := fmt.Sprintf("%d %s are defined, the most allowed (limit %s, flag --%s): delete some or raise the limit, then apply this one again",
				len(m), what, limitName, strings.ReplaceAll(limitName, "_", "-"))
			g.remember(contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: msg})
			return contract.ControlInvalid, msg
		}
		m[k] = v
	case rule.OpDelete:
		if _, ok := m[k]; !ok {
			return contract.ControlNotFound, fmt.Sprintf("no %s %s", strings.TrimSuffix(what, "s"), k)
		}
		delete(m, k)
	}
	return contract.ControlOK, ""
}

// Destinations lists the destinations in (scope, name) order.
func (g *Registry) Destinations() []*rule.Destination {
	g.mu.Lock()
	defer g.mu.Unlock()
	return sortedValues(g.dests)
}

// Mutes lists the mutes in (scope, id) order, expired ones included.
func (g *Registry) Mutes() []*rule.Mute {
	g.mu.Lock()
	defer g.mu.Unlock()
	return sortedValues(g.mutes)
}

// Destination resolves the destination name for an alert of customer: the customer's
// own destination of that name, else the global one.
func (g *Registry) Destination(customer, name string) (*rule.Destination, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d, ok := g.dests[rule.Key{Scope: customer, ID: name}]; ok {
		return d, true
	}
	d, ok := g.dests[rule.Key{Scope: rule.GlobalScope, ID: name}]
	return d, ok
}

// Muted returns the first mute (in (scope, id) order) covering an alert of rule ruleID
// for customer at now, or nil.
func (g *Registry) Muted(ruleID, customer string, now time.Time) *rule.Mute {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.mutes) == 0 {
		return nil
	}
	var found *rule.Mute
	for k, m := range g.mutes {
		if m.Matches(ruleID, customer, now) && (found == nil || compareKeys(k, rule.Key{Scope: found.Scope, ID: found.ID}) < 0) {
			found = m
		}
	}
	return found
}

func sortedValues[T any](m map[rule.Key]*T) []*T {
	keys := slices.SortedFunc(maps.Keys(m), compareKeys)
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
