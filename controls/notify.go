package controls

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Destinations and mutes fold like rules but have no versions: an upsert replaces
// what its key held (the newest control wins), a delete removes it. New keys beyond
// max_destinations or max_mutes are rejected, like a rule beyond max_rules.

// applyNotify folds a destination or mute control, and says the limit of room that
// refused it, if one did (ApplyRoom). The caller holds g.mu.
func (g *Registry) applyNotify(rec Record) (outcome, message string, room *RefusedAt) {
	c := rec.Control
	k := c.Key()
	if c.Kind() == rule.KindDestination {
		var over *refusal
		if _, held := g.dests[k]; !held && len(g.dests) >= rule.CurrentLimits().MaxDestinations {
			over = limitReached(len(g.dests), "destinations are defined", rule.LimitDestinations, int64(rule.CurrentLimits().MaxDestinations), false)
		}
		return applyKeyed(g, rec, g.dests, k, c.Destination, over, "destinations")
	}
	lim := rule.CurrentLimits()
	retention := time.Duration(lim.MuteRetention)
	g.muteIx.advance(rec.Time)
	if c.Op != rule.OpDelete {
		// The mute deleted may be one that ended (the console lists those, to unmute):
		// deleted first, it is found, and the delete answered ok, not not_found.
		g.forgetEndedMutes(rec.Time, retention)
	}
	// max_mutes bounds the mutes in force when the control was written: an ended one
	// (every mute "for 2h" from the console) takes no room, and a key whose mute ended
	// takes room again as a new one would. Judged at the record's own time, a fold
	// gives a control the same outcome on every replay.
	var over *refusal
	if c.Op == rule.OpUpsert && c.Mute.TakesRoom(g.mutes[k], rec.Time) {
		if inForce := g.muteIx.inForceAt(rec.Time); inForce >= lim.MaxMutes {
			over = limitReached(inForce, "mutes are in force", rule.LimitMutes, int64(lim.MaxMutes), g.mutes[k] != nil)
		}
	}
	old := g.mutes[k]
	outcome, message, room = applyKeyed(g, rec, g.mutes, k, c.Mute, over, "mutes")
	if cur := g.mutes[k]; cur != old {
		g.muteIx.remove(k, old)
		g.muteIx.add(k, cur)
		if old != nil {
			g.keepRemovedMute(old, g.mutesWritten[k], rec.Time)
		}
		if cur != nil {
			g.mutesWritten[k] = rec.Time
		} else {
			delete(g.mutesWritten, k)
		}
	}
	if c.Op == rule.OpDelete {
		g.forgetEndedMutes(rec.Time, retention)
	}
	g.boundEndedMutes(lim.MaxEndedMutes, rec.Time, retention)
	g.boundDeletedMutes(lim.MaxEndedMutes, rec.Time, retention)
	return outcome, message, room
}

// forgetEndedMutes drops the mutes that had ended retention (mute_retention) or more
// before t, the time of the mute control being folded: an ended mute mutes nothing
// (alerts are checked against the clock, Muted) but is kept a while to be listed, and
// unmuted, as ended. Judged at a record's time, never the clock, the fold of a topic
// is the same whenever it runs; the retention is what keeps a control stamped ahead
// of the clock (a producer's clock hours fast) from ending mutes still in force, as
// forgetting every mute ended at the record's time did. Done at every mute control,
// not only one that needs room, a fold of the compacted topic forgets the same ones:
// the newest mute control is kept (a tombstone only for delete.retention.ms), and with
// it the time the last forgetting was judged at (record times rising with offsets);
// listings leave out what a fold that lost that tombstone still holds (MutesListed).
// The mutes are taken earliest ended first (muteIndex), not by walking them all. The
// caller holds g.mu, and has advanced g.muteIx to t.
func (g *Registry) forgetEndedMutes(t time.Time, retention time.Duration) {
	for {
		k, m, ok := g.muteIx.earliestEnded()
		if !ok || t.Before(m.Until.Add(retention)) {
			return
		}
		g.muteIx.remove(k, m)
		delete(g.mutes, k)
		delete(g.mutesWritten, k)
	}
}

// boundEndedMutes forgets the earliest ended mutes past limit, max_ended_mutes,
// counting them (EndedMutesDropped): mute_retention alone let a script muting "for
// 10m" under a new id per deploy hold every such mute for 120h. Only a mute that had
// ended endedGrace (or mute_retention, if shorter) before t, the control's own time,
// is forgotten so: a control stamped by a clock fast by less than that never forgets a
// mute still in force by the clock (judged at the newest control's time, as the index
// files mutes, an hour's skew forgot mutes in force, a review found). The ended mutes
// held may then pass limit by those that ended within the grace. A fold of the
// compacted topic may hold ended mutes a fold of the whole log forgot (the controls
// that were held when it forgot them are gone): their listing, and whether deleting
// one is ok or not_found, may differ; the mutes in force do not. The caller holds g.mu.
func (g *Registry) boundEndedMutes(limit int, t time.Time, retention time.Duration) {
	grace := min(endedGrace, retention)
	for len(g.muteIx.ended) > limit {
		k, m, _ := g.muteIx.earliestEnded()
		if t.Before(m.Until.Add(grace)) {
			return
		}
		g.muteIx.remove(k, m)
		delete(g.mutes, k)
		delete(g.mutesWritten, k)
		g.endedMutesDropped++
	}
}

// deletedMute is a mute deleted, or a version of one an upsert replaced, in its ended
// form: its until is at, when it stopped covering alerts (its own until, or the
// removing control's record time if that came first); written is the record time of
// the control that made it (mutesWritten).
type deletedMute struct {
	m       *rule.Mute
	at      time.Time
	written time.Time
}

// keepRemovedMute keeps m, written at written and deleted or replaced by a control at
// t, for EndedCovering:
// a firing muted by it and read after t is owed, and a clean-up control (deleting an
// ended mute the console lists, narrowing a mute to another rule) must not change that
// answer. Kept from its end, an ended mute deleted lasts as long as it would have held
// (mute_retention from its until). g.deletedMutes stays ordered by end, as
// boundDeletedMutes forgets from the front. The caller holds g.mu.
func (g *Registry) keepRemovedMute(m *rule.Mute, written, t time.Time) {
	ended := *m
	if ended.Until.IsZero() || t.Before(ended.Until) {
		ended.Until = t
	}
	i := sort.Search(len(g.deletedMutes), func(i int) bool { return g.deletedMutes[i].at.After(ended.Until) })
	g.deletedMutes = slices.Insert(g.deletedMutes, i, deletedMute{m: &ended, at: ended.Until, written: written})
}

// boundDeletedMutes forgets the removed mutes held (keepRemovedMute) that ended
// mute_retention or more before t, the mute control's time, and the earliest ended past
// limit (max_ended_mutes), counted with the ended mutes forgotten so. Only
// EndedCovering reads them: a mute deleted is listed no more, and a replaced version
// never was.
func (g *Registry) boundDeletedMutes(limit int, t time.Time, retention time.Duration) {
	n := 0
	for n < len(g.deletedMutes) && !t.Before(g.deletedMutes[n].at.Add(retention)) {
		n++
	}
	if over := len(g.deletedMutes) - n - limit; over > 0 {
		n += over
		g.endedMutesDropped += int64(over)
	}
	if n > 0 {
		g.deletedMutes = slices.Delete(g.deletedMutes, 0, n)
	}
}

// endedGrace is how long before a mute control's time a mute must have ended for
// max_ended_mutes to forget it: the clock skew between producers it tolerates.
const endedGrace = time.Hour

// EndedMutesDropped is how many ended mutes were forgotten past max_ended_mutes,
// before mute_retention.
func (g *Registry) EndedMutesDropped() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.endedMutesDropped
}

// applyKeyed applies an upsert or delete of key k to m. over, when set, says why an
// upsert that changes m would exceed a limit of room: it is refused with that message,
// and the limit returned.
func applyKeyed[T any](g *Registry, rec Record, m map[rule.Key]*T, k rule.Key, v *T, over *refusal, what string) (string, string, *RefusedAt) {
	switch rec.Control.Op {
	case rule.OpUpsert:
		old, held := m[k]
		if held && reflect.DeepEqual(*old, *v) {
			// What the key holds already (a Keeper, a file applied again): no change,
			// or each such upsert would make the Keepers written after it stale (two
			// daemons' Keepers of one control overtook each other without end).
			return contract.ControlOK, Unchanged, nil
		}
		if over != nil {
			g.remember(contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: over.msg})
			return contract.ControlInvalid, over.msg, &over.at
		}
		m[k] = v
	case rule.OpDelete:
		if _, ok := m[k]; !ok {
			return contract.ControlNotFound, fmt.Sprintf("no %s %s", strings.TrimSuffix(what, "s"), k), nil
		}
		delete(m, k)
	}
	return contract.ControlOK, "", nil
}

// refusal is an upsert refused for room: its message, and the limit with the value
// that refused it (ApplyRoom).
type refusal struct {
	msg string
	at  RefusedAt
}

// roomRefused is the refusal for reason ("3 rules are active, the most allowed") at
// limitName's value. The advice depends on whether the key holds something: if not,
// the upsert refused is its own Keeper, which a start under a higher limit applies
// (Keeper); if so, the Keeper is what the key holds, and the upsert must be applied
// again.
func roomRefused(limitName string, value int64, reason string, holds bool) *refusal {
	advice := roomAdvice
	if holds {
		advice = "delete some or raise the limit, then apply this one again"
	}
	return &refusal{msg: fmt.Sprintf("%s (limit %s, flag --%s): %s", reason, limitName, flagOf(limitName), advice),
		at: RefusedAt{Limit: limitName, Value: value}}
}

// roomAdvice ends the message refusing an upsert for room under a key that holds
// nothing.
const roomAdvice = "delete some and apply this one again, or raise the limit: a start under a higher one applies it"

// limitReached is the refusal of a control for one more than used, what they are
// ("destinations are defined"), the most limitName allows (value).
func limitReached(used int, what, limitName string, value int64, holds bool) *refusal {
	return roomRefused(limitName, value, fmt.Sprintf("%d %s, the most allowed", used, what), holds)
}

// flagOf is the flag that sets the limit named.
func flagOf(limitName string) string { return strings.ReplaceAll(limitName, "_", "-") }

// Destinations lists the destinations in (scope, name) order.
func (g *Registry) Destinations() []*rule.Destination {
	g.mu.Lock()
	defer g.mu.Unlock()
	return sortedValues(g.dests)
}

// Mutes lists the mutes the fold holds in (scope, id) order: those in force, and those
// that ended less than mute_retention before the newest mute control (forgetEndedMutes).
func (g *Registry) Mutes() []*rule.Mute {
	g.mu.Lock()
	defer g.mu.Unlock()
	return sortedValues(g.mutes)
}

// MutesListed is what a listing shows at now (rules list, the console): Mutes, but
// for those that ended mute_retention or more before now. A fold holds those only
// while no later mute control has made it forget them, and that control may be a
// tombstone compaction removed: one process would list them, another not.
func (g *Registry) MutesListed(now time.Time) []*rule.Mute {
	retention := time.Duration(rule.CurrentLimits().MuteRetention)
	return slices.DeleteFunc(g.Mutes(), func(m *rule.Mute) bool {
		return !m.Until.IsZero() && !now.Before(m.Until.Add(retention))
	})
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
// for customer at now, or nil. It walks the mutes that may be in force at now, not the
// ended ones kept for listing (muteIndex).
func (g *Registry) Muted(ruleID, customer string, now time.Time) *rule.Mute {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.mutes) == 0 {
		return nil
	}
	var found *rule.Mute
	g.muteIx.inForceCandidates(now, func(k rule.Key, m *rule.Mute) {
		if m.Matches(ruleID, customer, now) && (found == nil || compareKeys(k, rule.Key{Scope: found.Scope, ID: found.ID}) < 0) {
			found = m
		}
	})
	return found
}

// EndedCovering returns a mute the fold still holds (an ended one is kept for
// mute_retention; one deleted, or the version an upsert replaced, as ended at its own
// until or the control's time, whichever came first, as long, and at most
// max_ended_mutes of them) that covered an alert of rule ruleID for customer at at and
// is over at now, or nil. The notify stage asks it of a firing its record says muted
// when no mute is in force as it reads it: the mute that muted it may have ended, been
// deleted or been changed while the stage was down, or before it read the firing
// again, and then the firing is owed. A fold that started after the removing control
// was compacted away does not know that mute.
func (g *Registry) EndedCovering(ruleID, customer string, at, now time.Time) *rule.Mute {
	return g.endedCovering(ruleID, customer, at, now, false)
}

// EndedCoveringWritten is EndedCovering of a mute whose control was written no later
// than at (by its record time), as was every mute that can have muted an alert written
// before at: the notify stage's look-back asks it of a resolve whose firing, written
// before the look-back began, was not read again. A mute written later covers at by its
// until alone (a mute has no start), and answered that a firing written hours before it
// was muted by it (TestRememberForNotReachedByAMuteWrittenAfterTheLookBack). The time is
// that of the record that made the mute what the fold holds: after compaction, the
// newest record of its key, which for a mute kept by a Keeper is the Keeper's; a
// record without a timestamp says no time, and its mute is not answered (writtenBy).
func (g *Registry) EndedCoveringWritten(ruleID, customer string, at, now time.Time) *rule.Mute {
	return g.endedCovering(ruleID, customer, at, now, true)
}

func (g *Registry) endedCovering(ruleID, customer string, at, now time.Time, writtenByAt bool) *rule.Mute {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, m := range g.mutes {
		if !m.Until.IsZero() && !m.InForce(now) && m.Matches(ruleID, customer, at) && (!writtenByAt || writtenBy(g.mutesWritten[k], at)) {
			return m
		}
	}
	for i := len(g.deletedMutes) - 1; i >= 0; i-- {
		if d := g.deletedMutes[i]; d.m.Matches(ruleID, customer, at) && (!writtenByAt || writtenBy(d.written, at)) {
			return d.m
		}
	}
	return nil
}

// writtenBy reports whether a mute control whose record time is written was written
// no later than at. A record without a timestamp (Kafka's -1, read as
// 1969-12-31T23:59:59.999Z) says nothing of when: taken as 1969, its mute was answered
// for every look-back, and the resolve of a firing written hours before the mute counted
// notify_remember_for_seconds. Not answered, a warning is missed, as after compaction.
func writtenBy(written, at time.Time) bool {
	return written.UnixMilli() != kafkaNoTimestamp && !written.After(at)
}

func sortedValues[T any](m map[rule.Key]*T) []*T {
	keys := slices.SortedFunc(maps.Keys(m), compareKeys)
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
