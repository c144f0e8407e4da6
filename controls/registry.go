package controls

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/json"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Version is one active version of one rule. It never changes once made: a new version
// of the rule is a new *Version, so whoever keys state by it (the live counters) starts
// from zero for a new version and keeps its state across changes to other rules.
type Version struct {
	Rule *rule.Rule
	Key  rule.Key
	// ControlOffset (the offset of the upsert that made this version active) and
	// Fingerprint (a hash of the rule's JSON) identify the version across processes: a
	// snapshot's counters are restored only onto the very same rule.
	ControlOffset int64
	Fingerprint   uint64
	// Seq is unique among the versions of one Registry and never reused.
	Seq uint32
	// UpdatedAt is the time of the upsert's record.
	UpdatedAt time.Time
	// JSONBytes is the rule's compact JSON, counted against max_rules_bytes.
	JSONBytes int
}

// Registry folds control records into the active rule versions and the rejected
// controls. It is safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	active map[rule.Key]*Version
	// activeBytes is the active versions' JSONBytes, bounded by max_rules_bytes.
	activeBytes int64
	lastError   map[rule.Key]string
	// changed is, per record key, the offset of the last control that changed what the
	// key holds, and whether it was a Keeper: a Keeper written after an earlier offset
	// is stale (Apply), and answered whatever its depth when a control not a Keeper
	// made it so (NeedsKeeper). The keys changed last are remembered, twice as many as
	// rules, destinations and mutes may be held at once (changedLimit), so that churn
	// of ids cannot grow it without bound; a Keeper follows its control within
	// moments, not that many changes after.
	changed keyMemory[string, keyChange]
	// forgotten is the newest change offset changed forgot: a Keeper of a key it no
	// longer remembers, written after an offset below it, may be stale, and is taken
	// for stale (the Keeper written in turn holds what the key holds now: nothing is
	// undone, nothing lost).
	forgotten int64
	seq       uint32
	rejected  []contract.RejectedControl
	// rejectedDropped counts rejected controls dropped past max_rejected_controls.
	rejectedDropped int64
	// ended holds, per key, the versions the key's changes ended (replaced or
	// deleted) whose rules resolve incidents (rule.Rule.Resolves), newest last, at most
	// max_ended_versions: a process restoring a snapshot taken before those changes
	// resolves the incidents the snapshot holds open (Ended). The newest max_rules keys
	// are remembered. endedDropped counts the versions forgotten past the per-key bound.
	ended        keyMemory[rule.Key, []endedVersion]
	endedDropped int64
	// retired holds, per key whose rule was deleted, what the deletes told (Retired): a
	// rule made again under the key at a version retired would give its alerts the
	// deleted rule's alerts' ids (contract.AlertID is made of the version), which
	// consumers drop as duplicates, so the console and `rules apply` pick or ask for a
	// newer one. The newest max_rules keys are remembered; retiredDropped counts the
	// keys forgotten past it, whose racing saves the fold then takes (Retired).
	retired        keyMemory[rule.Key, retirement]
	retiredDropped int64
	// dests and mutes are the destinations and mutes held (notify.go): the mutes in
	// force and the ended ones kept for listing (at most max_ended_mutes, each for
	// mute_retention at most), ordered by their end in muteIx. endedMutesDropped counts
	// the ended mutes forgotten past max_ended_mutes. deletedMutes are the mutes
	// deleted and the versions upserts replaced, unlisted, as ended at their until or
	// the removing control's time if earlier (EndedCovering), by that end. mutesWritten
	// is, per mute held, the record time of the control that made it what it is (an
	// upsert of what the key holds already changes nothing): a mute has no start of its
	// own, and a firing written before it was not muted by it (EndedCoveringWritten).
	dests             map[rule.Key]*rule.Destination
	mutes             map[rule.Key]*rule.Mute
	mutesWritten      map[rule.Key]time.Time
	muteIx            muteIndex
	endedMutesDropped int64
	deletedMutes      []deletedMute
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{active: map[rule.Key]*Version{}, lastError: map[rule.Key]string{},
		dests: map[rule.Key]*rule.Destination{}, mutes: map[rule.Key]*rule.Mute{}, mutesWritten: map[rule.Key]time.Time{}}
}

// Fold folds recs, in order, into a new registry.
func Fold(recs []Record) *Registry {
	g := NewRegistry()
	for _, rec := range recs {
		g.Apply(rec)
	}
	return g
}

// Apply folds one control record in and returns its outcome (a contract.Control*
// constant) with a message for anything but ok.
func (g *Registry) Apply(rec Record) (outcome, message string) {
	outcome, message, _ = g.ApplyRoom(rec)
	return outcome, message
}

// ApplyRoom is Apply, and for an upsert refused for room (a limit of what the fold
// holds: max_rules, max_rules_bytes, max_destinations, max_mutes; not of the control)
// that limit and the value it has here, which the record's Keeper is marked with
// (Keeper). nil for any other outcome.
func (g *Registry) ApplyRoom(rec Record) (outcome, message string, room *RefusedAt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A Keeper written after the very change its key's last change is, keeping what
	// this fold never saw (unseen): the writer's fold did not apply that record, and
	// this one did because compaction removed what refused it (the delete whose guard
	// refused an edit, the version it was not newer than), the cleaner having stopped
	// between the record and its Keeper. The Keeper is what the key held instead, and
	// restores it (TestCompactionBetweenARecordAndItsKeeperFoldsTheKeeper). A fold that
	// saw what the Keeper keeps and applied the record where the writer did not runs
	// under other limits, and keeps what it made
	// (TestKeepersOfDaemonsWithDifferentLimitsEndWithAPublisherRacingThem). Each other
	// Keeper of that record (another process's) restores too, after the first did: in
	// the writers' folds they were no change either. But for one marked refused for room
	// (RefusedAt): its writer held nothing there and refused the record, which is no view
	// of what the key held instead; restoring, it skipped the guard and the not-newer
	// check, and ran what the first restore undid, an edit of a deleted rule
	// (TestMarkedRefusalKeeperOfARestoredRecordRestoresNothing). Not applied, it is stale
	// as any Keeper written before the restore.
	// Of a key whose changes it forgot, the fold cannot tell the record's change from
	// another (changedAt answers the newest change forgotten, of whichever key): none
	// restores (TestDeleteKeeperOfAKeyForgottenRestoresNothing).
	ch := g.changedAt(rec.Key)
	_, remembered := g.changed.get(rec.Key)
	restore := remembered && rec.KeeperAfter != nil && rec.Err == nil && (ch.offset == *rec.KeeperAfter && g.unseen(rec, ch) || ch.restoredAfter == *rec.KeeperAfter && rec.RefusedAt == nil)
	if a := rec.KeeperAfter; a != nil && rec.Err == nil && ch.offset > *a && !restore {
		// Written after the control at offset *a of its key, from what the key held
		// then; a control of the key applied since is newer, and the Keeper would undo
		// it (a delete, then this Keeper of the rule deleted, active again). Not
		// applied, the Keeper gets a Keeper of what the key holds now in turn.
		if !remembered {
			// ch is the newest change forgotten, of whichever key: no keeper of this
			// one need be at its offset.
			return contract.ControlStale, fmt.Sprintf("a keeper of %s written after offset %d; the fold no longer remembers its key's changes (only the last of %d keys), and forgot a change at offset %d, after it, which may have been of this key; taken for stale, not applied",
				rec.Key, *a, changedLimit(rule.CurrentLimits()), ch.offset), nil
		}
		if ch.byKeeper {
			return contract.ControlStale, fmt.Sprintf("a keeper of %s written after offset %d, which the keeper at offset %d of its key is newer than; not applied", rec.Key, *a, ch.offset), nil
		}
		return contract.ControlStale, fmt.Sprintf("%sa keeper of %s written after offset %d, which the control at offset %d of its key is newer than; not applied", staleByControl, rec.Key, *a, ch.offset), nil
	}
	// The first such Keeper replaces what the record made here alone (unrun); another
	// process's after it, what the first restored.
	outcome, message, room = g.applyLocked(rec, restore, restore && ch.offset == *rec.KeeperAfter)
	// A delete of a key that holds nothing changes nothing, but it is newer than a
	// refusal it follows: the Keeper of that refusal, the refused upsert marked, written
	// after the delete, must be stale there, or it would outlive the delete once
	// compaction kept it alone, and a start under a higher limit would apply a rule its
	// user deleted (TestDeleteAfterARefusalOutlivesItsKeeper).
	if outcome == contract.ControlOK && message != Unchanged || outcome == contract.ControlNotFound {
		restored := int64(-1)
		if restore {
			restored = *rec.KeeperAfter
		}
		since := rec.Offset
		if rec.Keeps != nil && rec.Control != nil && rec.Control.Op == rule.OpUpsert {
			// The version a Keeper makes is its upsert's, named by that offset: this
			// fold saw it (TestKeeperOfAVersionAKeeperMadeIsSeen).
			since = min(since, rec.Keeps.Offset)
		}
		if prev, ok := g.changed.get(rec.Key); ok {
			since = prev.since
		}
		g.changed.putEvicting(rec.Key, keyChange{rec.Offset, rec.IsKeeper(), restored, since}, changedLimit(rule.CurrentLimits()),
			func(ch keyChange) { g.forgotten = max(g.forgotten, ch.offset) })
	}
	return outcome, message, room
}

// keyChange is the last change of a key: its offset, and whether a Keeper made it
// (a fold applying a Keeper where its key held otherwise) or a control published.
type keyChange struct {
	offset   int64
	byKeeper bool
	// restoredAfter is, for a Keeper that restored what its key held before the change
	// it follows (ApplyRoom), the offset of that change; -1 for any other.
	restoredAfter int64
	// since is the offset of the first change of the key the fold remembers, or of the
	// upsert that made the version it made, if earlier (a Keeper's).
	since int64
}

// unseen reports whether the Keeper rec keeps what this fold never saw of its key,
// whose last change is ch: a rule version made before the first change of the key it
// remembers, or a rule's delete, of a version above those it retired, or of none over a
// change a Keeper made (which a fold under the writer's limits, holding what this one
// holds, would not have written). A delete of none over a published upsert is what a
// daemon under a lower --max-rule-bytes (the upsert invalid to it, its key holding
// nothing) writes: this fold, which the rule fits, keeps it and answers with its Keeper
// (TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits). The few builds
// that refused an edit of a deleted rule and wrote delete Keepers without a version
// wrote such a delete after that edit too: compaction between the two runs the edit, as
// it did before. The caller holds g.mu.
func (g *Registry) unseen(rec Record, ch keyChange) bool {
	c := rec.Control
	if c == nil || c.Kind() != rule.KindRule {
		return false
	}
	switch {
	case c.Op == rule.OpUpsert && rec.Keeps != nil && rec.RefusedAt == nil:
		return rec.Keeps.Offset < ch.since
	case c.Op == rule.OpDelete:
		if c.Version == 0 {
			return ch.byKeeper
		}
		ret, ok := g.retired.get(c.Key())
		return !ok || ret.version < c.Version
	}
	return false
}

// changedAt is the last change of key: offset 0 for none, and for a key no longer
// remembered the newest offset forgotten (see forgotten), taken for a Keeper's, so that
// the Keeper it makes stale counts toward MaxKeeperDepth as before.
func (g *Registry) changedAt(key string) keyChange {
	if ch, ok := g.changed.get(key); ok {
		return ch
	}
	return keyChange{offset: g.forgotten, byKeeper: true, restoredAfter: -1, since: 0}
}

// staleByControl begins the message of a Keeper stale because a control published
// after the record it follows, not a Keeper, changed its key (ApplyRoom): NeedsKeeper
// answers it whatever its depth.
const staleByControl = "stale behind a newer control: "

// changedLimit is how many keys' last changes are remembered under lim.
func changedLimit(lim rule.Limits) int {
	return 2 * (lim.MaxRules + lim.MaxDestinations + lim.MaxMutes)
}

// applyLocked folds rec; restore, for a Keeper that restores what its key held before
// the change it follows (ApplyRoom), applies it over whatever that change made, and
// unrun says that change was the record's, whose version no process ran
// (endedVersion.unrun).
func (g *Registry) applyLocked(rec Record, restore, unrun bool) (outcome, message string, room *RefusedAt) {
	if rec.Err != nil {
		// The message bounded as the status and the rejected control are (Status): a
		// message quoting a value of the record whole is as large as the record.
		rc := rec.rejected()
		g.remember(rc)
		if k, err := rule.ParseKey(rec.Key); err == nil && g.active[k] != nil {
			g.lastError[k] = fmt.Sprintf("control at offset %d rejected: %s", rec.Offset, rc.Error)
		}
		return contract.ControlInvalid, rc.Error, nil
	}
	c := rec.Control
	if c.Op == rule.OpDelete && rec.Keeps != nil {
		// The Keeper of a key that held nothing (Keeper): nothing to delete. A key
		// given something since (a control published between the record kept and
		// this one) is left as it is, and the record, not applied, gets that key's
		// Keeper in turn; but one restoring what the writer held (ApplyRoom, only of a
		// rule) deletes what the record it follows made.
		held := g.holdsLocked(c)
		if held && !restore {
			if ch, ok := g.changed.get(rec.Key); ok && rec.KeeperAfter != nil && ch.offset == *rec.KeeperAfter {
				// Its writer did not apply the very control that gave the key what it
				// holds here: a process under other limits (a rule past its
				// --max-rule-bytes is invalid there).
				return contract.ControlStale, fmt.Sprintf("a keeper of %s holding nothing, written after the control at offset %d that gave it what it holds, by a process whose fold did not apply that control (one under other limits); nothing deleted", rec.Key, ch.offset), nil
			}
			return contract.ControlStale, fmt.Sprintf("a keeper of %s holding nothing, written before it was given something; nothing deleted", rec.Key), nil
		}
		var cur *Version
		if held {
			cur = g.removeLocked(c.Key(), rec.Offset, unrun)
		}
		if c.Kind() == rule.KindRule {
			// It carries the delete it keeps (Keeper), which compaction may have
			// removed: what that delete retired stays retired. One without a version (a
			// Keeper of an older build, or of a fold that forgot the retirement past
			// max_rules) is a delete without one to a fold of it alone, which takes any
			// version after it; a guard kept past it here would refuse what that fold
			// takes (TestDeleteKeeperWithoutAVersionAfterAVersionedDeleteTakesAnyVersion).
			g.retire(c.Key(), c.Version, cur, rec.Offset)
		}
		if held {
			return contract.ControlOK, "", nil
		}
		return contract.ControlOK, Unchanged, nil
	}
	if at := rec.RefusedAt; at != nil && c.Op == rule.OpUpsert && !g.holdsLocked(c) {
		// The Keeper of an upsert refused for room (Keeper). Under that limit at the
		// value that refused it, or lower, it is refused whatever room deletes made
		// since: compaction may have removed the records that filled the room, and a
		// fold of what it kept must refuse it as the fold of the whole log did. Under a
		// higher limit it is the upsert it carries.
		if now, ok := roomLimit(at.Limit); ok && now <= at.Value {
			msg := fmt.Sprintf("%sa fold under %s %d refused it, and this process runs under %d (flag --%s), which refuses it whatever room there is now: %s",
				keptRefusal, at.Limit, at.Value, now, flagOf(at.Limit), roomAdvice)
			g.remember(contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: msg})
			if c.Kind() == rule.KindRule {
				g.unguard(c.Key())
			}
			return contract.ControlInvalid, msg, nil
		}
	}
	if c.Kind() != rule.KindRule {
		return g.applyNotify(rec)
	}
	k := c.Key()
	cur := g.active[k]
	switch c.Op {
	case rule.OpUpsert:
		if ret, ok := g.retired.get(k); ok && cur == nil && c.Rule.Version <= ret.guard && !restore {
			// An edit of the deleted version, published by one who had not seen the
			// delete (their check ran before it was folded): applied, it would undo the
			// delete unsaid. Decided here, in log order, so every fold refuses it. The
			// version advised is above Retired's answer, which `rules apply` and the
			// console hold a new rule to (a delete without one may have retired more).
			return contract.ControlStale, fmt.Sprintf("rule %s was deleted at offset %d by a delete of version %d: version %d, not above %d, is an edit begun before that delete; not applied (make the rule again at version %d or above)",
				k, ret.at, ret.deleted, c.Rule.Version, ret.guard, max(ret.version, ret.guard)+1), nil
		}
		if limit := rule.CurrentLimits().MaxRules; cur == nil && len(g.active) >= limit {
			r := roomRefused(rule.LimitRules, int64(limit), fmt.Sprintf("%d rules are active, the most allowed", len(g.active)), false)
			g.remember(contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: r.msg})
			g.unguard(k)
			return contract.ControlInvalid, r.msg, &r.at
		}
		fp, size := fingerprintSize(c.Rule)
		renamed := restore && rec.Keeps != nil && cur != nil && rec.Keeps.Offset != cur.ControlOffset
		if cur != nil && c.Rule.Version == cur.Rule.Version && fp == cur.Fingerprint && !renamed {
			// The active version again (a Keeper, or the same file applied twice): a
			// last error stays, the Keeper of the record that made it telling nothing new.
			return contract.ControlOK, Unchanged, nil
		}
		if cur != nil && c.Rule.Version <= cur.Rule.Version && !restore {
			msg := fmt.Sprintf("version %d is not newer than the active version %d; ignored (raise the version to replace the rule)", c.Rule.Version, cur.Rule.Version)
			g.lastError[k] = fmt.Sprintf("control at offset %d: %s", rec.Offset, msg)
			return contract.ControlStale, msg, nil
		}
		held := int64(0)
		if cur != nil {
			held = int64(cur.JSONBytes)
		}
		if limit := int64(rule.CurrentLimits().MaxRulesBytes); g.activeBytes-held+int64(size) > limit {
			r := roomRefused(rule.LimitRulesBytes, limit, fmt.Sprintf("the active rules hold %d bytes of JSON, and this rule of %d bytes would take them past the %d allowed", g.activeBytes, size, limit), cur != nil)
			g.remember(contract.RejectedControl{Key: rec.Key, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Time.UTC(), Error: r.msg})
			if cur != nil {
				g.lastError[k] = fmt.Sprintf("control at offset %d: %s", rec.Offset, r.msg)
			} else {
				g.unguard(k)
			}
			return contract.ControlInvalid, r.msg, &r.at
		}
		g.seq++
		c.Rule.Seq = g.seq
		v := &Version{Rule: c.Rule, Key: k, ControlOffset: rec.Offset, Fingerprint: fp, Seq: g.seq, UpdatedAt: rec.Time.UTC(), JSONBytes: size}
		if o := rec.Keeps; o != nil {
			// A Keeper: the version it keeps, as the fold that applied its upsert names
			// it, and a fold of the Keeper alone once compaction removed that upsert;
			// over an older version too (a fold under another max_rules_bytes refused the
			// upsert, and applies the Keeper once there is room), or a snapshot of one
			// process is not restored onto the other's version
			// (TestKeeperOfANewerVersionNamesItByItsUpsert).
			v.ControlOffset, v.UpdatedAt = o.Offset, o.Time
		}
		g.active[k] = v
		g.activeBytes += int64(size) - held
		delete(g.lastError, k)
		g.end(cur, rec.Offset, unrun)
	case rule.OpDelete:
		if cur != nil && c.Version > 0 && cur.Rule.Version > c.Version {
			// Its publisher saw version c.Version; a newer one, saved by someone else
			// since, is not theirs to delete unseen.
			msg := fmt.Sprintf("version %d of rule %s is active (made at offset %d), newer than version %d this delete was for; not deleted (delete it again to delete version %d)",
				cur.Rule.Version, k, cur.ControlOffset, c.Version, cur.Rule.Version)
			g.lastError[k] = fmt.Sprintf("control at offset %d: %s", rec.Offset, msg)
			return contract.ControlStale, msg, nil
		}
		if ret, ok := g.retired.get(k); ok && cur == nil && c.Version > 0 && c.Version < ret.deleted {
			// Left the newest of its key, compaction would keep it and not the delete
			// of the newer version: a fold of the compacted topic would take the edit
			// of that version the fold of the whole log refuses. Stale, it is followed
			// by its Keeper, which carries the newer delete's version.
			return contract.ControlStale, fmt.Sprintf("rule %s was deleted at offset %d by a delete of version %d, newer than version %d this delete was for; nothing deleted",
				k, ret.at, ret.deleted, c.Version), nil
		}
		// Retired even when the key holds nothing: compaction keeps the delete alone
		// of its key, and a fold of what it kept must refuse what the whole log's did.
		g.retire(k, c.Version, cur, rec.Offset)
		if cur == nil {
			return contract.ControlNotFound, fmt.Sprintf("no active rule %s", k), nil
		}
		delete(g.active, k)
		g.activeBytes -= int64(cur.JSONBytes)
		g.end(cur, rec.Offset, false)
		delete(g.lastError, k)
	default:
		return contract.ControlInvalid, fmt.Sprintf("unknown op %q", c.Op), nil
	}
	return contract.ControlOK, "", nil
}

// endedVersion is a version a change of its key ended, and that change's offset. It
// keeps what names the version and its rule's JSON (an upsert control, deflated), not the
// compiled rule, which is about ten times larger (an `in` list's sets, the rule's
// index): max_ended_versions of each rule would otherwise hold many times the active
// rules' memory (TestEndedVersionsCostLessThanTheRulesThemselves). The version is
// compiled again when asked for (version), and weakly remembered: while anyone holds
// the *Version (the live rule set that still runs it, a partition restoring it, its
// replay), Ended and EndedAfter return that very one.
type endedVersion struct {
	key           rule.Key
	controlOffset int64
	fingerprint   uint64
	seq           uint32
	updatedAt     time.Time
	by            int64
	// unrun is of a version a Keeper restoring what its writer held replaced (ApplyRoom):
	// the record it follows made it in this fold alone, compaction having removed what
	// refused it, and no process that folded the whole log ran it. Ended finds it (a
	// snapshot of a build that ran such a record names it); EndedAfter leaves it out.
	unrun   bool
	control []byte
	v       weak.Pointer[Version]
}

// version is the ended version ev, the one still held if any, else compiled again
// from its JSON; false if the rule no longer compiles (only under rule limits lowered
// since it was folded). The caller holds g.mu.
func (ev *endedVersion) version() (*Version, bool) {
	if v := ev.v.Value(); v != nil {
		return v, true
	}
	data, err := io.ReadAll(flate.NewReader(bytes.NewReader(ev.control)))
	if err != nil {
		return nil, false
	}
	c, err := rule.ParseControl(data)
	if err != nil || c.Rule == nil {
		return nil, false
	}
	c.Rule.Seq = ev.seq
	v := &Version{Rule: c.Rule, Key: ev.key, ControlOffset: ev.controlOffset, Fingerprint: ev.fingerprint, Seq: ev.seq, UpdatedAt: ev.updatedAt}
	ev.v = weak.Make(v)
	return v, true
}

// end remembers v, which the change at offset by ended (nil: none), for Ended; unrun
// for a Keeper's restore (endedVersion.unrun).
func (g *Registry) end(v *Version, by int64, unrun bool) {
	if v == nil || !v.Rule.Resolves() {
		return
	}
	data, err := rule.Upsert(v.Rule).Marshal()
	if err != nil {
		return // a rule decoded from JSON encodes again (Keeper relies on it too)
	}
	// The newest max_ended_versions of a key: those a partition's owner was down, or
	// the partition between owners, for. One forgotten is counted (EndedDropped).
	vs, _ := g.ended.get(v.Key)
	if n := len(vs) + 1 - rule.CurrentLimits().MaxEndedVersions; n > 0 {
		vs = vs[min(n, len(vs)):]
		g.endedDropped += int64(n)
	}
	// The key's strings are cloned: decoded from the upsert, they point into its
	// record's value, which they would keep whole (the compiled rule's own memory).
	k := rule.Key{Scope: strings.Clone(v.Key.Scope), ID: strings.Clone(v.Key.ID)}
	ev := endedVersion{key: k, controlOffset: v.ControlOffset, fingerprint: v.Fingerprint, seq: v.Seq, updatedAt: v.UpdatedAt,
		by: by, unrun: unrun, control: deflate(data), v: weak.Make(v)}
	g.ended.put(k, append(slices.Clip(vs), ev), rule.CurrentLimits().MaxRules)
}

// EndedAfter is every remembered ended version (see Ended) whose end, the control
// that replaced or deleted it, is at an offset above offset, in the order of those
// controls: a partition whose snapshot adopted no control above offset may have run
// them after it, though the snapshot names none. But for a version a Keeper's restore
// replaced (endedVersion.unrun), which no process folding the whole log ran: replayed,
// it would resolve, under the alert ids of the version that runs (of the same version,
// or not), incidents no one opened
// (TestKeeperRestoringOverARecordCompactionKeptEndsNothingTheWholeLogRan).
func (g *Registry) EndedAfter(offset int64) []*Version {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*endedVersion
	for _, e := range g.ended.m {
		for i := range e.v {
			if e.v[i].by > offset && !e.v[i].unrun {
				out = append(out, &e.v[i])
			}
		}
	}
	slices.SortFunc(out, func(a, b *endedVersion) int { return cmp.Compare(a.by, b.by) })
	vs := make([]*Version, 0, len(out))
	for _, ev := range out {
		if v, ok := ev.version(); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// Ended is the version of k that k's changes ended whose ControlOffset and
// Fingerprint are those given (what a snapshot names a version by), if its rule
// resolves incidents and it is still remembered (the newest max_ended_versions of the
// newest max_rules keys are).
func (g *Registry) Ended(k rule.Key, controlOffset int64, fingerprint uint64) (*Version, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	vs, _ := g.ended.get(k)
	for i := range vs {
		if ev := &vs[i]; ev.controlOffset == controlOffset && ev.fingerprint == fingerprint {
			return ev.version()
		}
	}
	return nil, false
}

// deflaters are flate writers for deflate, each about 1 MB of state.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// deflate is data compressed (an ended version's JSON, read again only to restore it).
func deflate(data []byte) []byte {
	var b bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&b)
	_, _ = w.Write(data) // a bytes.Buffer takes every write
	_ = w.Close()
	deflaters.Put(w)
	return bytes.Clone(b.Bytes())
}

// EndedHeld is how many ended versions the registry remembers, and the bytes of their
// rules' JSON (deflated), which is what they hold: the compiled rule of one is held
// only while someone uses it.
func (g *Registry) EndedHeld() (versions int, jsonBytes int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.ended.m {
		versions += len(e.v)
		for _, ev := range e.v {
			jsonBytes += int64(len(ev.control))
		}
	}
	return versions, jsonBytes
}

// retirement is what the deletes of one key told the fold.
type retirement struct {
	// version is the highest version the key's rule had when deleted, or that a
	// delete said it deleted.
	version int64
	// guard is the highest version an upsert of the key, while it holds nothing, is
	// refused at (stale): deleted+1, what an edit of the deleted version begun before
	// the delete publishes. 0 when only deletes without a version were folded: the
	// fold accepted any version after those, and still does (topics written so).
	guard int64
	// deleted and at are the version and offset of the delete that set guard.
	deleted, at int64
}

// retire remembers a delete at offset of k's rule: of the version v it names (0: none),
// and cur, the version it deletes (nil: none). Never lowered: a rule made again at a
// lower version (by a publisher that did not ask) and deleted again must not lower it.
// The caller holds g.mu.
func (g *Registry) retire(k rule.Key, v int64, cur *Version, offset int64) {
	ret, _ := g.retired.get(k)
	if cur != nil {
		ret.version = max(ret.version, cur.Rule.Version)
	}
	if v > 0 {
		ret.version = max(ret.version, v)
		if v+1 >= ret.guard {
			ret.guard, ret.deleted, ret.at = v+1, v, offset
		}
	} else {
		// A delete without a version (a tombstone, a publisher of before versions)
		// takes any version after it, as ever. Compaction keeps it, not the versioned
		// delete before it, of the key: a guard kept past it would refuse, in the fold
		// of the whole log, what the fold of the compacted topic takes.
		ret.guard, ret.deleted, ret.at = 0, 0, 0
	}
	if ret.version == 0 {
		return // a delete without a version of a key that held nothing: nothing known
	}
	g.retired.putEvicting(k, ret, rule.CurrentLimits().MaxRules, func(retirement) { g.retiredDropped++ })
}

// unguard ends the guard of k's retirement, if any, for an upsert of a version above it
// refused for room while k holds nothing: that upsert, or its Keeper (the upsert
// marked), is then the newest record of k, which compaction keeps alone, and a fold of
// it alone knows no delete; left here, the guard would refuse an edit of the deleted
// version that fold takes
// (TestUpsertRefusedForRoomAfterAVersionedDeleteEndsItsGuard). Retired then answers
// the highest version deleted, as after a delete without one. The caller holds g.mu.
func (g *Registry) unguard(k rule.Key) {
	if e, ok := g.retired.m[k]; ok && e.v.guard > 0 {
		e.v.guard, e.v.deleted, e.v.at = 0, 0, 0
		g.retired.m[k] = e // in place: no newer than it was, of those remembered
	}
}

// RetiredDropped is how many deleted keys' retirements were forgotten past max_rules:
// under such a key an edit of the deleted version, landing after its delete, is taken
// (the rule active again), and a rule made again may repeat the deleted one's alert
// ids.
func (g *Registry) RetiredDropped() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.retiredDropped
}

// Retired is the highest version retired under k by its deletes, if the fold saw one
// (a delete that carries the version it deletes, or the upsert of the version deleted,
// not compacted away) and remembers it (the newest max_rules deleted keys): a rule made
// again under k must have a newer one. After a delete of version V that said so it is
// V+1, which the fold refuses while the key holds nothing (an edit of V saved by one
// who had not seen the delete publishes it); after deletes without one, the version
// the rule had, which the fold accepts (its alerts would repeat the deleted rule's
// alert ids: the console and `rules apply` refuse it before publishing).
func (g *Registry) Retired(k rule.Key) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ret, ok := g.retired.get(k)
	return max(ret.version, ret.guard), ok
}

// Unchanged is Apply's message with ControlOK for an upsert of the active version
// itself: nothing changed.
const Unchanged = "the active version itself: nothing changed"

// NeedsKeeper says whether rec, folded by Apply with status and msg, must be followed
// by its Keeper (Registry.Keeper) so that compaction keeps what its key holds: a
// record not applied — but an invalid record that is a Keeper (it keeps nothing, and is
// not kept), a Keeper of a refusal of room refused as it was (KeptRefusal), or a
// Keeper at MaxKeeperDepth or deeper. Processes that fold a key differently (a daemon of
// a higher --max-rules holds a rule another refuses) answered each other's Keepers
// without end; the chain stops at that depth, the key's newest record then the view of
// the process that wrote last. (Processes of one deployment are meant to run under the
// same limits.) But a Keeper made stale by a control published after the record it
// follows (not a Keeper: a publisher's next version, or a delete) is answered at any
// depth: left the newest, it would be the only record compaction kept of its key, and a
// restart would run what that control replaced (a lower version, a deleted rule back).
// Each such answer takes a new published control of the key, so it ends when the
// publisher does, and a chain of Keepers answering Keepers is still capped.
func NeedsKeeper(rec Record, status, msg string) bool {
	switch {
	case rec.IsKeeper() && rec.KeeperDepth >= MaxKeeperDepth && !(status == contract.ControlStale && strings.HasPrefix(msg, staleByControl)):
		return false
	case status == contract.ControlOK && msg == Unchanged && rec.Keeps == nil && rec.Control != nil && rec.Control.Kind() == rule.KindRule:
		// The active version's upsert again (a file applied twice): left the newest of
		// its key, it would be the version's upsert once compaction removed the first,
		// and a restart would name the version by its offset, not the snapshot's. Its
		// Keeper carries the version's own Origin.
		return true
	case status == contract.ControlOK || status == contract.ControlNotFound:
		return false
	case KeptRefusal(rec, status, msg):
		return false
	case rec.IsKeeper() && rec.Err != nil:
		return false // keeps nothing, and is not kept
	}
	return true
}

// KeptRefusal reports whether rec, folded by Apply with status and msg, is the Keeper
// of an upsert refused for room, refused as it was (Record.RefusedAt): it keeps its key
// itself, every later fold under that limit or a lower one refusing it alike, and
// needs no Keeper, nor does the record it follows.
func KeptRefusal(rec Record, status, msg string) bool {
	return status == contract.ControlInvalid && rec.RefusedAt != nil && rec.Err == nil && strings.HasPrefix(msg, keptRefusal)
}

// keptRefusal begins the message of a Keeper refused as its mark says (Apply).
const keptRefusal = "refused for room as when it was kept: "

// Keeper is the control that restores what rec's key holds, for a record Apply did
// not apply (invalid or stale), and the headers its record must carry: the Origin
// (HeaderKeeps), for a rule its version's, and for the Keeper of an upsert refused for
// room the limit that refused it (HeaderRefusedAt; room, as ApplyRoom said). The
// controls topic is compacted, which keeps the newest record of each key alone: left
// the newest, a record not applied would have compaction delete the upsert that made
// the key's rule (or destination, or mute) what it is, and the next fold of the topic,
// a restart's, would find it gone or older. Written after rec, the keeper is the newest
// again, and folds as Unchanged.
//
// A key that holds nothing after an upsert refused for room is kept by that upsert
// itself, marked with the limit and its value: left the newest unmarked, it would find
// room in the fold of a topic compaction had rid of the rules before it, and be active
// there alone; marked, a fold under that limit or a lower one refuses it whatever room
// there is, and one under a higher limit applies it (a start under a lowered
// --max-rules refuses rules, and deletes none). Any other key that holds nothing is
// kept by a delete carrying rec's Origin, which deletes nothing. nil for a key that is
// none.
func (g *Registry) Keeper(rec Record, room *RefusedAt) (*rule.Control, *Origin, *RefusedAt) {
	kind, k, err := rule.SplitRecordKey(rec.Key)
	if err != nil {
		return nil, nil, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch kind {
	case rule.KindRule:
		if v := g.active[k]; v != nil {
			return rule.Upsert(v.Rule), &Origin{Offset: v.ControlOffset, Time: v.UpdatedAt}, nil
		}
	case rule.KindDestination:
		if d := g.dests[k]; d != nil {
			return rule.UpsertDestination(d), nil, nil
		}
	case rule.KindMute:
		if m := g.mutes[k]; m != nil {
			return rule.UpsertMute(m), nil, nil
		}
	}
	origin := &Origin{Offset: rec.Offset, Time: rec.Time.UTC()}
	if c := rec.Control; room != nil && rec.Err == nil && c != nil && c.Op == rule.OpUpsert {
		at := *room
		if kind != rule.KindRule {
			return c, nil, &at
		}
		if rec.Keeps != nil {
			origin = rec.Keeps // a Keeper refused: the version it keeps
		}
		return c, origin, &at
	}
	// Only a delete that is valid itself: one of a key no control may name (written
	// before deletes were checked as upserts are) would be invalid in turn, and want a
	// keeper of its own.
	c := rule.DeleteOf(kind, k)
	if ret, ok := g.retired.get(k); ok && kind == rule.KindRule && ret.guard > 0 {
		// What the key's delete retired, kept with it: compaction may leave this
		// Keeper alone of its key.
		c.Version = ret.deleted
	}
	if data, err := c.Marshal(); err != nil {
		return nil, nil, nil
	} else if _, err := rule.ParseControl(data); err != nil {
		return nil, nil, nil
	}
	return c, origin, nil
}

// removeLocked deletes rule k, for a delete Keeper that restores it holding nothing
// (ApplyRoom), the change at offset ending it (unrun: see endedVersion), and returns
// the version it held (nil: none). The caller holds g.mu.
func (g *Registry) removeLocked(k rule.Key, offset int64, unrun bool) *Version {
	cur := g.active[k]
	if cur != nil {
		delete(g.active, k)
		g.activeBytes -= int64(cur.JSONBytes)
		g.end(cur, offset, unrun)
		delete(g.lastError, k)
	}
	return cur
}

// holdsLocked reports whether the key c names holds a rule, destination or mute. The
// caller holds g.mu.
func (g *Registry) holdsLocked(c *rule.Control) bool {
	k := c.Key()
	switch c.Kind() {
	case rule.KindDestination:
		return g.dests[k] != nil
	case rule.KindMute:
		return g.mutes[k] != nil
	}
	return g.active[k] != nil
}

// remember adds a rejected control, keeping the newest max_rejected_controls
// (rule.Limits.MaxRejectedControls). The caller holds g.mu.
func (g *Registry) remember(rc contract.RejectedControl) {
	g.rejected = append(g.rejected, rc)
	if limit := rule.CurrentLimits().MaxRejectedControls; len(g.rejected) > limit {
		n := len(g.rejected) - limit
		g.rejectedDropped += int64(n)
		g.rejected = slices.Delete(g.rejected, 0, n)
	}
}

// RejectedDropped is how many rejected controls were dropped from Rejected past
// max_rejected_controls.
func (g *Registry) RejectedDropped() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rejectedDropped
}

// EndedDropped is how many ended versions were forgotten past max_ended_versions: a
// snapshot naming one drops its open incidents unresolved.
func (g *Registry) EndedDropped() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.endedDropped
}

// Len is the number of active rules.
func (g *Registry) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.active)
}

// ActiveBytes is the compact JSON the active rules hold together (max_rules_bytes).
func (g *Registry) ActiveBytes() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.activeBytes
}

// Get returns the active version of rule k.
func (g *Registry) Get(k rule.Key) (*rule.Rule, bool) {
	v, ok := g.Version(k)
	if !ok {
		return nil, false
	}
	return v.Rule, true
}

// Version returns the active version of rule k.
func (g *Registry) Version(k rule.Key) (*Version, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.active[k]
	return v, ok
}

// Versions lists the active versions in (scope, id) order.
func (g *Registry) Versions() []*Version {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.SortedFunc(maps.Values(g.active), func(a, b *Version) int { return compareKeys(a.Key, b.Key) })
}

// Rules views the active versions in (scope, id) order with status contract.RuleLive:
// what the topic alone says. A daemon adds what it knows (backfills, start offsets).
func (g *Registry) Rules() []contract.RuleView {
	vs := g.Versions()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]contract.RuleView, 0, len(vs))
	for _, v := range vs {
		r := v.Rule
		out = append(out, contract.RuleView{Scope: r.Scope, ID: r.ID, Version: r.Version, Name: r.Name, Threshold: r.Threshold,
			Status: contract.RuleLive, ControlOffset: v.ControlOffset, UpdatedAt: v.UpdatedAt, LastError: g.lastError[v.Key], Rule: r})
	}
	return out
}

// Rejected lists the most recent rejected controls, oldest first.
func (g *Registry) Rejected() []contract.RejectedControl {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.rejected)
}

// List is the fold as the HTTP API and `rules list --json` show it.
func (g *Registry) List() contract.RuleList {
	l := contract.RuleList{Rules: g.Rules(), Invalid: g.Rejected(), InvalidDropped: g.RejectedDropped()}
	if l.Invalid == nil {
		l.Invalid = []contract.RejectedControl{}
	}
	return l
}

func compareKeys(a, b rule.Key) int {
	if c := strings.Compare(a.Scope, b.Scope); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Fingerprint hashes the rule's JSON encoding (fields in declaration order, so the same
// rule always hashes the same).
func Fingerprint(r *rule.Rule) uint64 {
	fp, _ := fingerprintSize(r)
	return fp
}

// fingerprintSize is Fingerprint(r) and the size of r's compact JSON, which it hashes.
func fingerprintSize(r *rule.Rule) (uint64, int) {
	h := &countingHash{Hash64: fnv.New64a()}
	_ = json.NewEncoder(h).Encode(r)
	return h.Sum64(), h.n - 1 // Encode ends the JSON with a newline
}

// countingHash counts the bytes hashed.
type countingHash struct {
	hash.Hash64
	n int
}

func (h *countingHash) Write(p []byte) (int, error) {
	h.n += len(p)
	return h.Hash64.Write(p)
}
