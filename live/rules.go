package live

import (
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// Registry is the daemon's fold of the controls topic.
func (d *Daemon) Registry() *controls.Registry { return d.rules }

// applyControls folds one fetch of controls into the registry and publishes the result
// to the evaluator once, with only the scopes the fetch changed reindexed: a flood of
// controls costs one index update per fetch, and a single customer's control costs index
// work linear in that customer's rules, not in all rules; the version lookups and each
// partition's adoption of the new set cost time in the change (see activeSet), save for
// the lookups' merge once per mergeBound changed keys.
func (d *Daemon) applyControls(recs []controls.Record) {
	var changed []rule.Key
	for _, cr := range recs {
		d.folded = max(d.folded, cr.Offset+1)
		// Destinations and mutes change no rule: the notify stage and alertRecord read
		// them from the registry.
		if d.applyControl(cr) && cr.Control.Kind() == rule.KindRule {
			changed = append(changed, cr.Control.Key())
		}
	}
	published := true
	if len(changed) > 0 && d.loaded {
		published = d.publishRules(changed)
	}
	if d.loaded && published {
		// The rules the set holds are what these controls leave: the set published, or
		// the current one when they changed no rule (a rule made and deleted in one
		// fetch, destinations, mutes) and none was.
		d.active.Load().controls.Store(d.folded - 1)
	}
}

// applyControl folds cr into the registry, reports its outcome and says whether the
// active rules changed.
func (d *Daemon) applyControl(cr controls.Record) bool {
	status, msg, room := d.rules.ApplyRoom(cr)
	// The keeper of a key that holds nothing changes nothing, and a status of "delete,
	// ok" under the key of a rejected upsert would read as if a rule had gone: it is
	// neither reported nor logged above debug.
	if cr.Keeps != nil && cr.Control != nil && cr.Control.Op == rule.OpDelete && status == contract.ControlOK {
		d.keep(cr, status, msg, nil) // it keeps its key: the record it follows needs no other keeper
		d.log.Debug("keeper of an empty key folded", "key", cr.Key, "offset", cr.Offset)
		return false
	}
	d.controls.Report(cr.Status(status, msg, time.Now()))
	if n := d.rules.RejectedDropped(); n > d.rejectedDropped {
		d.m.limits.Count(rule.LimitRejected).Add(float64(n - d.rejectedDropped))
		d.rejectedDropped = n
	}
	if n := d.rules.EndedDropped(); n > d.endedDropped {
		d.m.limits.Count(rule.LimitEndedVersions).Add(float64(n - d.endedDropped))
		d.endedDropped = n
	}
	if n := d.rules.RetiredDropped(); n > d.retiredDropped {
		// A save racing the delete of a key forgotten is taken: the rule active again.
		d.m.limits.Count(rule.LimitRules).Add(float64(n - d.retiredDropped))
		d.log.Info("deleted rules' retired versions forgotten past --max-rules: an edit of such a rule's deleted version landing after its delete makes it active again",
			"key", cr.Key, "offset", cr.Offset, "forgotten", n-d.retiredDropped, "max_rules", rule.CurrentLimits().MaxRules)
		d.retiredDropped = n
	}
	if n := d.rules.EndedMutesDropped(); n > d.endedMutesDropped {
		d.m.limits.Count(rule.LimitEndedMutes).Add(float64(n - d.endedMutesDropped))
		d.log.Info("ended mutes forgotten before --mute-retention, the earliest ended first: more are held than --max-ended-mutes",
			"key", cr.Key, "offset", cr.Offset, "forgotten", n-d.endedMutesDropped, "max_ended_mutes", rule.CurrentLimits().MaxEndedMutes)
		d.endedMutesDropped = n
	}
	d.keep(cr, status, msg, room)
	switch {
	case status == contract.ControlOK && !d.loaded: // replaying the topic at start: one line at the end
		d.log.Debug("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	case status == contract.ControlOK:
		d.log.Info("control applied", "key", cr.Key, "op", cr.Control.Op, "offset", cr.Offset)
	default:
		d.log.Warn("control not applied", "key", controls.ShownKey(cr.Key), "offset", cr.Offset, "status", status, "reason", msg)
	}
	return status == contract.ControlOK && msg != controls.Unchanged
}

// keep writes the Keeper of a control not applied, so that compaction keeps what its
// key holds (controls.Registry.Keeper); room is the limit of room that refused it, if
// one did (controls.Registry.ApplyRoom). While the topic is replayed at start, a record
// not applied may be followed by one that is, or by a Keeper refused as its mark says,
// which keeps its key itself: only those still the newest of their key once the replay
// ends are kept (onRulesLoaded).
func (d *Daemon) keep(cr controls.Record, status, msg string, room *controls.RefusedAt) {
	needs := controls.NeedsKeeper(cr, status, msg)
	if !d.loaded {
		switch {
		case !needs && (status == contract.ControlOK || status == contract.ControlNotFound || controls.KeptRefusal(cr, status, msg)):
			delete(d.unkept, cr.Key)
		case needs, cr.IsKeeper() && isLimitsOnly(cr.Err):
			// A Keeper refused for rule limits alone needs none (NeedsKeeper), but it
			// is its key's newest now, kept by the record before it: left unkept, that
			// record's Keeper, of what the key holds under these limits, would replace
			// the version it keeps (onRulesLoaded leaves both as written).
			if d.unkept == nil {
				d.unkept = map[string]unkeptRecord{}
			}
			d.unkept[cr.Key] = unkeptRecord{cr, room}
		}
		return
	}
	if needs {
		d.writeKeeper(cr, room)
	}
}

// unkeptRecord is a record met while replaying the topic that needs a Keeper, and the
// limit of room that refused it, if one did, which marks the Keeper.
type unkeptRecord struct {
	cr   controls.Record
	room *controls.RefusedAt
}

// isLimitsOnly reports whether err refuses a control for rule limits alone.
func isLimitsOnly(err error) bool {
	_, ok := rule.LimitsOnly(err)
	return ok
}

func (d *Daemon) writeKeeper(cr controls.Record, room *controls.RefusedAt) {
	if c, keeps, refused := d.rules.Keeper(cr, room); c != nil {
		d.log.Warn("restoring what a key holds after a control not applied, so that compaction keeps it", "key", controls.ShownKey(cr.Key), "offset", cr.Offset)
		d.controls.Restore(c, keeps, refused, cr.Offset, cr.KeeperDepth+1)
	}
}

// onRulesLoaded ends the replay of the topic: it writes the Keepers of the records
// still the newest of their key not applied, but for those refused only for rule limits
// (rule.LimitsOnly), left as written. A record refused at run time is kept at once
// (keep); one still unkept at the end of a replay was valid when written, under the
// limits then, and a limit was lowered since. Its Keeper, of what the key holds here
// (an older version, or a delete when nothing), once compaction kept it alone, lost
// the rule for every later start, also under the old limits. Validation depends on the
// record and the limits alone, not on order or room, so the record left the newest of
// its key is refused under these limits (a rejected control, listed) and applied under
// limits that allow it, before and after compaction. The one difference compaction
// makes: an older version under the key runs under the lowered limits until
// compaction removes its upsert; then the key holds nothing until the limits allow the
// newer one again.
func (d *Daemon) onRulesLoaded() {
	d.loaded = true
	for _, u := range d.unkept {
		if limits, ok := rule.LimitsOnly(u.cr.Err); ok {
			d.log.Warn("control refused under this process's limits, which must have been lowered since it was written; left as written: a start under limits that allow it applies it",
				"key", controls.ShownKey(u.cr.Key), "offset", u.cr.Offset, "limits", limits)
			continue
		}
		d.writeKeeper(u.cr, u.room)
	}
	d.unkept = nil
	d.publishRules(nil)
	d.log.Info("rules loaded", "active", d.rules.Len())
	close(d.rulesLoaded)
}

// publishRules publishes the registry's active versions to the evaluator (false: they
// could not be indexed, and the previous rules stay): the rules with
// keys in changed reindexed, the rest shared with the active set published before; with
// changed nil (the replay of the topic at start), everything indexed anew.
//
// hindsight_rule_index_builds_total counts the indexes published this way, one per fetch
// of controls that changed the active rules, however few scopes each rebuilt.
func (d *Daemon) publishRules(changed []rule.Key) bool {
	began := time.Now()
	prev := d.active.Load()
	var s *activeSet
	var err error
	var added, dropped []*rule.Rule // for the typed columns
	if changed != nil {
		put, removed := d.changedVersions(prev, changed)
		if len(put) == 0 && len(removed) == 0 {
			return true // e.g. a rule made and deleted in one fetch
		}
		for _, v := range put {
			added = append(added, v.Rule)
			if old := prev.version(v.Key); old != nil {
				dropped = append(dropped, old.Rule)
			}
		}
		for _, k := range removed {
			dropped = append(dropped, prev.version(k).Rule)
		}
		s, err = prev.with(put, removed)
		if err != nil {
			// The registry holds validated rules with distinct keys, which always index;
			// should one not, index everything as before rather than lose the change.
			d.log.Error("rule index update failed; indexing all rules", "err", err)
		}
	}
	if s == nil {
		if s, err = newActiveSet(d.rules.Versions()); err != nil {
			d.log.Error("rules changed but could not be indexed; keeping the previous rules", "err", err)
			return false
		}
		added, dropped = nil, nil
		for _, v := range d.rules.Versions() {
			added = append(added, v.Rule)
		}
		d.columns.reset()
	}
	d.columns.update(d, added, dropped)
	s.controls.Store(d.folded - 1)
	d.active.Store(s)
	d.m.ruleIndexBuilds.Inc()
	d.log.Debug("rule index published", "changed", len(changed), "active", s.set.Len(), "took", time.Since(began))
	// Idle partitions adopt the rules now, at the offset they will evaluate next, so
	// that a rule's history is counted even if no event follows it. A closing one
	// (drop) is its next owner's: its revoke snapshot may be encoded already, and a
	// version ended here once it was sent resolves the next owner sends again when it
	// restores that snapshot, which holds them open
	// (TestVersionEndedAfterRevokeSnapshotResolvesOnce); the next owner adopts the set.
	var ended []*partition
	d.eachPartition(func(p *partition) {
		if p.active != s && p.next >= 0 && !p.closing {
			p.reconcile(d, s, p.next)
			if len(p.ended) > 0 {
				ended = append(ended, p)
			}
		}
	})
	// A rule no longer active leaves /metrics with its series, so that churn of rule ids
	// does not grow them without bound (a rule made again counts from 0). Only now: an
	// event evaluated under the previous set, which each partition's lock above waited
	// out, made them again after they were deleted.
	if prev != nil {
		prev.eachVersion(func(v *controls.Version) {
			if s.version(v.Key) == nil {
				d.m.forgetRule(v.Key.String())
			}
		})
	}
	// Shown last, so that /metrics never shows a rule gone while its series stay (a
	// reader waiting for the count saw the deleted rule's series; CI's race pass of
	// TestRuleChurnDoesNotGrowMetricSeries).
	d.m.rules.Set(float64(s.set.Len()))
	for _, p := range ended {
		d.produceEnded(p)
	}
	return true
}

// changedVersions compares the registry with prev on the keys of changed (which may
// repeat): put are the versions new since prev, removed the keys no longer active.
func (d *Daemon) changedVersions(prev *activeSet, changed []rule.Key) (put []*controls.Version, removed []rule.Key) {
	seen := make(map[rule.Key]bool, len(changed))
	for _, k := range changed {
		if seen[k] {
			continue
		}
		seen[k] = true
		v, ok := d.rules.Version(k)
		switch cur := prev.version(k); {
		case ok && v != cur:
			put = append(put, v)
		case !ok && cur != nil:
			removed = append(removed, k)
		}
	}
	return put, removed
}
