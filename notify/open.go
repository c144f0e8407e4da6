package notify

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// A resolve follows its firing. The stage remembers, per alert_id, the firings it read
// and has not yet seen resolved, per destination name: whether that firing was muted,
// and where it was delivered. Without it a resolve was judged on its own: a mute added
// after a firing was paged muted its resolve, so the incident Hindsight opened was never
// closed; a customer's destination of the same name added between firing and resolve
// took the resolve, the service that was paged keeping the incident open; and a firing
// raised under a mute that ended while it was still open was never sent, though its
// resolve was.
//
// So, for a resolve whose firing is remembered: muted if the firing was muted (and not
// sent since) and a mute covered the alert at the resolve's record time; a muted firing
// owed by then (below) is sent first, as the check for ended mutes would have sent it,
// and the resolve follows it (owedAtResolve); else sent, whatever mute is in force, to
// the destination (scope, URL and key) the firing was delivered to, unless that
// destination was deleted since (then as a resolve with no remembered firing). A
// remembered firing that was muted is sent, as the firing it is, once no mute covers it
// any more (unmuteCheck after the mute ends or is deleted), if the stage saw a mute
// covering it in force, or, for a firing read after its mute ended or was deleted (the
// stage down or behind, or reading it again: reread.go), its fold holds that mute as
// ended (mutedThen): the record's "muted" alone does not say which mute it was, and a
// fold that has not yet caught up with a new mute must not read as the mute's end.
//
// The memory is in memory, per partition (a partition revoked or lost drops its
// firings), and bounded by Config.MaxOpenFirings, the oldest forgotten first. A
// partition assigned (a start, a rebalance) has its muted firings still open remembered
// again from its alerts of the last Config.RememberFor before its committed offset
// (reread.go); what the stage did with other firings is not in the log. A resolve whose
// firing is not remembered (a firing not muted read before this process started or
// before its partition came to this member, one read before the look-back, or
// forgotten at the bound) is judged as it always was: muted by its record or a mute in
// force, sent to the destination its name resolves to.

// mutedThen reports whether the fold holds a mute, over now, that covered a as its
// record was written at raised: its record's "muted" was that mute's, which ended, was
// deleted or was replaced (controls.Registry.EndedCovering) before the stage read it
// (down, behind, or reading it again). The fold has caught up with the controls topic before the
// stage reads alerts (Config.Loaded), so a mute it does not hold is one newer than its
// fold (or forgotten past mute_retention or max_ended_mutes): not taken as ended.
func (s *Stage) mutedThen(a *contract.Alert, raised time.Time) bool {
	return a.Muted && !raised.IsZero() && s.reg.EndedCovering(a.RuleID, a.Customer, raised, time.Now()) != nil
}

// unmuteCheck is how often the stage looks for remembered muted firings whose mutes
// have ended.
const unmuteCheck = time.Second

// openDest is what the stage remembers of one firing's delivery to one destination
// name. Its fields are guarded by openFirings.mu.
type openDest struct {
	name  string
	index int // in the firing's delivery.Destinations
	// muted: the firing was muted for this name (by its record, a mute in force as it
	// was read, or one that came while it waited) and not delivered since.
	muted bool
	// sawMute: the stage saw a mute covering the alert in force, or the ended mute
	// that covered it as it was raised (mutedThen): once none is in force, a muted
	// firing is sent.
	sawMute bool
	// target is what the firing was delivered to (its delivering attempt's Target,
	// shared with the other firings delivered to it: openFirings.intern); nil while not
	// delivered.
	target *Target
	// jobs counts the firing's deliveries to the name queued and not over: a resolve
	// read meanwhile is judged once they are (its job waits for them, job.after).
	jobs int
}

// openFiring is one remembered firing.
type openFiring struct {
	t         *tracker
	id        string // its alert_id, its key in t.firings
	partition int32
	// delivery is the firing's (Recent shows it too); held only while a destination is
	// muted, for its alert is sent when the mute ends. offset is its record's.
	delivery *contract.AlertDelivery
	offset   int64
	dests    []*openDest
	elem     *list.Element
	// passTo is, once the firing is owed, its partition's end offset as listed at
	// listedAt, the fold having applied its mute's end: read up to it, no resolve raised
	// under that mute is left unread (Stage.passed). Zero: not listed (an end offset is
	// past the firing's own record, never zero).
	passTo   int64
	listedAt time.Time
	// windowStart is its alert's: forgotten at the bound, a firing whose window began
	// before its partition's look-back has its id kept as read (forgetOldestLocked).
	windowStart *time.Time
}

func (f *openFiring) dest(name string) *openDest {
	for _, d := range f.dests {
		if d.name == name {
			return d
		}
	}
	return nil
}

// anyMuted reports whether a destination's firing is muted and not sent.
func (f *openFiring) anyMuted() bool {
	return slices.ContainsFunc(f.dests, func(d *openDest) bool { return d.muted })
}

// openFirings is the stage's remembered firings: each partition's tracker maps alert ids
// to them (tracker.firings), and order lists them all, oldest first, for the bound.
type openFirings struct {
	mu    sync.Mutex
	max   int
	order list.List
	// muted are the firings with a muted destination, which unmuted looks at.
	muted map[*openFiring]struct{}
	// targets are, by destination, the Target its last delivered firing went to, so
	// that the firings delivered to one share it rather than each holding its URL and
	// secret.
	targets map[rule.Key]*Target
	// forgot is called for each firing forgotten at the bound; logged at most once a
	// minute.
	forgot func()
	// readAgain is how many alert ids the trackers hold in tracker.readAgain, bounded
	// by max too.
	readAgain int
	log       *slog.Logger
	logged    time.Time
}

func newOpenFirings(max int, forgot func(), log *slog.Logger) *openFirings {
	return &openFirings{max: max, forgot: forgot, log: log, muted: map[*openFiring]struct{}{}, targets: map[rule.Key]*Target{}}
}

// len is how many firings are remembered.
func (o *openFirings) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.order.Len()
}

// remember notes the firing d, read in t's partition at offset, as read: for each
// name, whether it is muted (record, or a mute in force), and seen: the stage knows
// the mute that muted it (in force, or ended since: mutedThen). A firing remembered
// already (a record read twice) keeps what it knows; the names it lacks are added.
// Nil when t's partition is no longer this member's.
func (o *openFirings) remember(t *tracker, d *contract.AlertDelivery, offset int64, muted, seen bool) *openFiring {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.firingsGone {
		return nil
	}
	id := d.Alert.AlertID
	f := t.firings[id]
	if f == nil {
		if o.order.Len() >= o.max {
			o.forgetOldestLocked()
		}
		f = &openFiring{t: t, id: id, partition: d.Partition, offset: offset, windowStart: d.Alert.WindowStart}
		f.elem = o.order.PushBack(f)
		if t.firings == nil {
			t.firings = map[string]*openFiring{}
		}
		t.firings[id] = f
	}
	for i, name := range d.Alert.Notify {
		od := f.dest(name)
		if od == nil {
			od = &openDest{name: name, index: i}
			f.dests = append(f.dests, od)
		}
		if muted && od.target == nil && od.jobs == 0 {
			od.muted, od.sawMute = true, od.sawMute || seen
		}
	}
	if f.anyMuted() && f.delivery == nil {
		f.delivery = d
	}
	o.noteMutedLocked(f)
	return f
}

// forgetOldestLocked forgets the oldest firing, at the bound: its resolve is judged as
// one whose firing is not remembered. o.mu is held.
func (o *openFirings) forgetOldestLocked() {
	e := o.order.Front()
	if e == nil {
		return
	}
	f := e.Value.(*openFiring)
	o.removeLocked(f)
	o.forgot()
	// Read by this member after its partition's look-back began, its resolve is not one
	// a longer look-back would change: taken for one, it counted
	// notify_remember_for_seconds as well as this limit, and advised raising
	// --notify-remember-for in vain (TestRememberForNotReachedByAFiringForgottenAtTheBound).
	// Its id is kept as a reading again's are, if they have room: the limit is counted
	// once, here.
	if t := f.t; !t.firingsGone && !t.lookBack.IsZero() && f.windowStart != nil && f.windowStart.Before(t.lookBack) {
		o.keepReadLocked(t, f.id)
	}
	if now := time.Now(); now.Sub(o.logged) >= time.Minute {
		o.logged = now
		o.log.Warn("open firings remembered reached the limit (notify_max_open_firings, flag --notify-max-open-firings): the oldest is forgotten, and its resolve is muted or sent as if its firing had not been read",
			"limit", o.max, "partition", f.partition, "offset", f.offset)
	}
}

func (o *openFirings) removeLocked(f *openFiring) {
	if f.elem == nil {
		return // removed already
	}
	o.order.Remove(f.elem)
	f.elem = nil
	delete(o.muted, f)
	// By its id: a search of the map for f made a revoke of n firings n² steps, under
	// the lock every partition's reading takes.
	if f.t.firings[f.id] == f {
		delete(f.t.firings, f.id)
	}
}

// noteMutedLocked keeps o.muted current for f. o.mu is held.
func (o *openFirings) noteMutedLocked(f *openFiring) {
	if f.elem != nil && f.anyMuted() {
		o.muted[f] = struct{}{}
	} else {
		delete(o.muted, f)
	}
}

// recall takes the firing of alert id out of t's memory, its resolve read: nil when it
// is not remembered. readAgain: its partition's reading again read the firing, not
// remembering it (noteReadAgain), or the firing was forgotten at the bound
// (forgetOldestLocked).
func (o *openFirings) recall(t *tracker, id string) (f *openFiring, readAgain bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, readAgain = t.readAgain[id]; readAgain {
		delete(t.readAgain, id)
		o.readAgain--
	}
	f = t.firings[id]
	if f == nil {
		return nil, readAgain
	}
	delete(t.firings, id)
	o.removeLocked(f)
	return f, readAgain
}

// noteReadAgain notes that t's reading again read the firing of alert id, whose
// window began at windowStart, and did not remember it: if that window began before
// the look-back (tracker.lookBack), its resolve would otherwise be taken for that of a
// firing the look-back left out. Past the bound (max, notify_max_open_firings) it is
// not noted, counted as that limit reached and logged at most once a minute: its
// resolve may count notify_remember_for_seconds.
func (o *openFirings) noteReadAgain(t *tracker, id string, windowStart *time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.firingsGone || t.lookBack.IsZero() || t.lookBackFailed || windowStart == nil || !windowStart.Before(t.lookBack) {
		return
	}
	if o.keepReadLocked(t, id) {
		return
	}
	o.forgot()
	if now := time.Now(); now.Sub(o.logged) >= time.Minute {
		o.logged = now
		o.log.Warn("firings read again whose windows began before the notify stage's look-back reached the limit (notify_max_open_firings, flag --notify-max-open-firings): one is not noted, and its resolve may count notify_remember_for_seconds",
			"limit", o.max)
	}
}

// keepReadLocked keeps id in t.readAgain, its firing read and not remembered, unless
// the ids kept are at the bound (max): false then. o.mu is held.
func (o *openFirings) keepReadLocked(t *tracker, id string) bool {
	if _, ok := t.readAgain[id]; ok {
		return true
	}
	if o.readAgain >= o.max {
		return false
	}
	if t.readAgain == nil {
		t.readAgain = map[string]struct{}{}
	}
	t.readAgain[id] = struct{}{}
	o.readAgain++
	return true
}

// lookedBack notes that t's partition was read again from since only, its alerts
// going further back (tracker.lookBack); failed, that its reading again, begun at
// since, failed.
func (o *openFirings) lookedBack(t *tracker, since time.Time, failed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t.lookBack, t.lookBackFailed = since, failed
}

// forgottenByLookBack reports, for resolve a read in t's partition, its firing not
// remembered and the resolve going out (no mute in force, none by its record), whether
// the look-back (Config.RememberFor) may have changed that answer: the partition's
// reading again left out alerts before since, the incident began before since (its
// window's start: the firing, raised by an event of that window, was written no
// earlier), and the fold holds a mute written by since that covered the alert then and
// is over now, which muted a firing still open then, whose memory would have sent that
// firing as the mute ended, and before this resolve. A mute written after since cannot
// have muted a firing written before it (EndedCoveringWritten). A firing not muted is
// not remembered by the reading again, so the look-back changes nothing for it, and one
// that reading read (tracker.readAgain, recall) was not left out; an incident that
// never resolves shows nothing. failed: the partition's reading again failed, since
// being when it began (tracker.lookBackFailed), which no longer look-back would have
// changed.
func (s *Stage) forgottenByLookBack(t *tracker, a *contract.Alert, now time.Time) (since time.Time, failed, ok bool) {
	s.open.mu.Lock()
	since, failed = t.lookBack, t.lookBackFailed
	s.open.mu.Unlock()
	if since.IsZero() || a.WindowStart == nil || !a.WindowStart.Before(since) {
		return since, failed, false
	}
	return since, failed, s.reg.EndedCoveringWritten(a.RuleID, a.Customer, since, now) != nil
}

// drop forgets the firings of the trackers' partitions, taken away from this member;
// none are remembered for them after.
func (o *openFirings) drop(ts []*tracker) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, t := range ts {
		t.firingsGone = true
		for _, f := range t.firings {
			o.removeLocked(f)
		}
		t.firings = nil
		o.readAgain -= len(t.readAgain)
		t.readAgain = nil
	}
}

// follow is how a resolve whose firing is remembered is to go.
type follow int

const (
	// asToday: as a resolve whose firing is not remembered (the firing was not delivered
	// nor muted: given up, or never tried).
	asToday follow = iota
	// followMuted: muted, as its firing was.
	followMuted
	// followFiring: sent, mute or not, to where the firing went, or judged once the
	// firing's deliveries still under way are over (Stage.followNow).
	followFiring
)

// atRead says how the resolve of f to name goes as it is read, and the destination its
// firing was delivered to, if any.
func (o *openFirings) atRead(f *openFiring, name string) (follow, *Target) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := f.dest(name)
	switch {
	case d == nil:
		return asToday, nil
	case d.jobs > 0 || d.target != nil:
		return followFiring, d.target
	case d.muted:
		return followMuted, nil
	}
	return asToday, nil
}

// now says where the resolve of f to name goes, its firing's deliveries over: the
// target it was delivered to, or muted, or neither (as today).
func (o *openFirings) now(f *openFiring, name string) (target *Target, muted bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := f.dest(name)
	if d == nil {
		return nil, false
	}
	return d.target, d.target == nil && d.muted
}

// queued counts a job of j's firing as queued; finished, as over.
func (o *openFirings) queued(j *job) { o.jobs(j, 1) }

func (o *openFirings) finished(j *job) { o.jobs(j, -1) }

func (o *openFirings) jobs(j *job, n int) {
	if j.firing == nil || j.alert.Status != contract.StatusFiring {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := j.firing.dest(j.name); d != nil {
		d.jobs += n
	}
}

// delivered notes that j's firing was delivered to t.
func (o *openFirings) delivered(j *job, t Target) {
	if j.firing == nil || j.alert.Status != contract.StatusFiring {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	d := j.firing.dest(j.name)
	if d == nil {
		return
	}
	d.target, d.muted = o.internLocked(t), false
	o.noteMutedLocked(j.firing)
}

// mutedNow notes that j's firing was muted by a mute in force as it was to be sent.
func (o *openFirings) mutedNow(j *job) {
	if j.firing == nil || j.alert.Status != contract.StatusFiring {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	d := j.firing.dest(j.name)
	if d == nil || d.target != nil {
		return
	}
	d.muted, d.sawMute = true, true
	if j.firing.delivery == nil {
		j.firing.delivery = j.delivery
	}
	o.noteMutedLocked(j.firing)
}

// internLocked is t as shared by the firings delivered to its destination. o.mu is
// held.
func (o *openFirings) internLocked(t Target) *Target {
	k := rule.Key{Scope: t.Scope, ID: t.Name}
	if p := o.targets[k]; p != nil && p.same(t) {
		return p
	}
	t.Secret = bytes.Clone(t.Secret)
	o.targets[k] = &t
	return &t
}

// keepTargets forgets the shared targets of destinations that defined does not list
// (deleted): a firing delivered to one still holds its own.
func (o *openFirings) keepTargets(defined map[rule.Key]bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k := range o.targets {
		if !defined[k] {
			delete(o.targets, k)
		}
	}
}

// unmuted sends the remembered muted firings that no mute covers any more (seen
// covered before), each as the firing it is: same alert, same Idempotency-Key. Run by
// the stage every unmuteCheck.
//
// No mute in force now is not enough: the firing's resolve may be written, unread (the
// reading waits at MaxPending, or lags), at a time the mute still covered the alert,
// and then, by the records, neither is sent (owedAtResolve); sent here, the resolve
// followed it, and the same records paged the receiver or not by how far behind the
// stage was. So a firing is sent only once its partition's reading has passed the
// mute's end (passed).
func (s *Stage) unmuted(ctx context.Context) {
	o := s.open
	now := time.Now()
	var owed []*openFiring
	o.mu.Lock()
	for f := range o.muted {
		a := &f.delivery.Alert
		if s.reg.Muted(a.RuleID, a.Customer, now) != nil {
			for _, d := range f.dests {
				d.sawMute = d.sawMute || d.muted
			}
			f.passTo = 0 // its end is to come: what was listed before may precede a resolve raised under it
			continue
		}
		if slices.ContainsFunc(f.dests, owedLocked) {
			owed = append(owed, f)
		}
	}
	o.mu.Unlock()
	if len(owed) == 0 {
		s.owedWaiting.Store(0)
		return
	}
	kept := s.passed(ctx, owed, now)
	s.owedWaiting.Store(int64(len(owed) - len(kept)))
	owed = kept
	var notQueued []*job
	o.mu.Lock()
	for _, f := range owed {
		if _, ok := o.muted[f]; !ok {
			continue // its resolve was read meanwhile, and judged it (owedAtResolve)
		}
		notQueued = s.sendFiringOwedLocked(f, notQueued)
	}
	o.mu.Unlock()
	s.owedNotQueued(ctx, notQueued)
}

// passed keeps the owed firings whose partitions' reading has passed the end of the
// mutes that covered them, no mute in force at now: by offset alone, the partition has
// handled every record up to its end offset as listed once the fold had applied the
// mute's end (a record written later is no resolve raised under it). Not by record
// time: alerts carry their events' times, any a producer stamps, in no order along a
// partition, and one stamped ahead, read, said nothing of a resolve still unread
// behind it (TestMutedFiringSentPastARecordStampedAhead). The offset listed is kept
// with the firing (passTo), so that a reading lagging behind a partition written on
// reaches it; a mute in force again (unmuted), or one covering the alert at listedAt
// that ended since, has it listed again. Listing asks the brokers, only for firings
// without one; a failed listing keeps those firings owed for the next check. The
// firings left waiting are counted (hindsight_notify_owed_waiting).
func (s *Stage) passed(ctx context.Context, owed []*openFiring, now time.Time) []*openFiring {
	o := s.open
	to := make(map[*openFiring]int64, len(owed))
	o.mu.Lock()
	for _, f := range owed {
		a := &f.delivery.Alert
		if f.passTo > 0 && s.reg.EndedCovering(a.RuleID, a.Customer, f.listedAt, now) != nil {
			f.passTo = 0
		}
		to[f] = f.passTo
	}
	o.mu.Unlock()
	var kept, unlisted []*openFiring
	for _, f := range owed {
		switch {
		case to[f] == 0:
			unlisted = append(unlisted, f)
		case f.t.readUpTo() >= to[f]:
			kept = append(kept, f)
		}
	}
	if len(unlisted) == 0 || s.cl == nil {
		return kept
	}
	lctx, cancel := context.WithTimeout(ctx, 10*unmuteCheck)
	defer cancel()
	topic := s.cfg.Topics.Alerts
	ends, err := kadm.NewClient(s.cl).ListEndOffsets(lctx, topic)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing the alerts partitions' end offsets failed: muted firings whose mutes ended wait for the next check", "err", err)
		}
		return kept
	}
	o.mu.Lock()
	for _, f := range unlisted {
		if end, ok := ends.Lookup(topic, f.partition); ok && end.Err == nil && end.Offset > 0 {
			f.passTo, f.listedAt = end.Offset, now
			to[f] = end.Offset
		}
	}
	o.mu.Unlock()
	for _, f := range unlisted {
		if to[f] > 0 && f.t.readUpTo() >= to[f] {
			kept = append(kept, f)
		}
	}
	return kept
}

// owedAtResolve sends f's muted firing, owed if no mute covered the alert at
// resolvedAt, its resolve's record time, before the resolve is judged (atRead). The
// check for ended mutes runs once a second, and a resolve read before it was muted as
// its firing had been: the same records paged the receiver or not by when the timer
// fired. Covered then means a mute the fold holds in force at resolvedAt, or one ended
// or deleted since that still covered the alert at resolvedAt (EndedCovering); either
// keeps both muted. Otherwise the firing is queued as unmuted queues it, so that the
// resolve's job follows it. f was recalled: unmuted no longer sees it.
func (s *Stage) owedAtResolve(ctx context.Context, f *openFiring, resolvedAt time.Time) {
	o := s.open
	o.mu.Lock()
	owed := f.delivery != nil && slices.ContainsFunc(f.dests, owedLocked)
	o.mu.Unlock()
	if !owed || resolvedAt.IsZero() {
		return
	}
	a := &f.delivery.Alert
	if s.reg.Muted(a.RuleID, a.Customer, resolvedAt) != nil || s.reg.EndedCovering(a.RuleID, a.Customer, resolvedAt, time.Now()) != nil {
		return
	}
	o.mu.Lock()
	notQueued := s.sendFiringOwedLocked(f, nil)
	o.mu.Unlock()
	s.owedNotQueued(ctx, notQueued)
}

// sendFiringOwedLocked sends f's firing to each destination name it is owed to
// (sendOwedLocked), appending to notQueued those not queued. openFirings.mu is held.
func (s *Stage) sendFiringOwedLocked(f *openFiring, notQueued []*job) []*job {
	for _, d := range f.dests {
		if owedLocked(d) {
			notQueued = s.sendOwedLocked(f, d, notQueued)
		}
	}
	s.open.noteMutedLocked(f)
	return notQueued
}

// owedLocked reports whether d's firing is muted, was seen covered, and is not under
// way: sent once no mute covers it. openFirings.mu is held.
func owedLocked(d *openDest) bool { return d.muted && d.sawMute && d.jobs == 0 }

// sendOwedLocked queues f's firing to d as the firing it is, or appends its job to
// notQueued (no destination, or its queue full) for owedNotQueued, once o.mu is
// released. openFirings.mu is held.
func (s *Stage) sendOwedLocked(f *openFiring, d *openDest, notQueued []*job) []*job {
	a := &f.delivery.Alert
	// Sent once: a mute that comes back before it is sent mutes it again (mutedNow),
	// and its end sends it then.
	d.muted = false
	// An entry of its own, outside the tracker's list: the firing's record was handled
	// (muted) and may be committed; a restart does not send it again, so a stop or a
	// move that cuts it short records it undelivered (unsent.go).
	e := &entry{offset: f.offset, epoch: -1, tracker: f.t}
	e.open.Store(1)
	j := &job{alert: a, delivery: f.delivery, index: d.index, entry: e, partition: f.partition,
		offset: f.offset, name: d.name, firing: f, redeliver: true}
	s.unsentAdd(j) // over once delivered, muted or recorded undelivered
	dest, ok := s.reg.Destination(a.Customer, d.name)
	if !ok {
		return append(notQueued, j)
	}
	j.dest = dest
	// Queued under o.mu, so that a resolve read meanwhile (recall, then its own job) is
	// queued after it and waits for it.
	if !s.tryEnqueue(j) {
		return append(notQueued, j)
	}
	d.jobs++
	s.m.queued.WithLabelValues(s.m.label(j.name)).Inc()
	s.log.Info("a muted firing is sent: no mute covers it any more", "alert", a.AlertID, "destination", d.name)
	return notQueued
}

// owedNotQueued records undelivered the owed firings sendOwedLocked could not queue.
func (s *Stage) owedNotQueued(ctx context.Context, js []*job) {
	for _, j := range js {
		if j.dest == nil {
			s.giveUpLater(ctx, j, Outcome{Reason: fmt.Sprintf("no destination %q for customer %s (nor a global one)", j.name, clip(j.alert.Customer, reasonCustomer)), Final: true})
			continue
		}
		s.queueFull(ctx, j)
	}
}
