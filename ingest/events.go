package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/fetcherr"
)

// EventConsumer consumes the events topic as a member of a consumer group.
type EventConsumer struct {
	cfg EventsConfig
	h   Handler
	cl  *kgo.Client
	log *slog.Logger

	// commitMu serialises commits with rebalances, so that an offset is never committed
	// for a partition this member no longer owns.
	commitMu sync.Mutex
	// partsMu guards parts; the poll loop only reads it, so it never waits for a commit.
	partsMu sync.RWMutex
	parts   map[int32]*partState
	// inflight counts the batches handed to workers and not yet handled. The poll loop
	// does not wait for them (dispatch) but to bound them; a rebalance callback and the
	// shutdown wait for all.
	inflight inflightCount
	runq     runQueue
	// reroute keeps in the dead-letter topic what the brokers refuse to take.
	reroute *Rerouter
	// pos is h as a Positioner (nil if it is not one).
	pos Positioner
	// heldAs is the group member id the owned partitions were assigned under (see
	// heldByFormerMember). Written by onAssigned under commitMu.
	heldAs string
	// givenUp is the partitions given up by giveUpKept (guarded by partsMu); halt stops
	// Run with the reason (halted's cause).
	givenUp map[int32]bool
	halted  context.Context
	halt    context.CancelCauseFunc
}

// NewEventConsumer connects to the brokers; consumption starts with Run.
func NewEventConsumer(cfg EventsConfig, h Handler) (*EventConsumer, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest: events consumer: %w", err)
	}
	c := &EventConsumer{cfg: cfg, h: h, log: cfg.Logger, parts: map[int32]*partState{}, givenUp: map[int32]bool{}}
	c.halted, c.halt = context.WithCancelCause(context.Background())
	c.inflight.fell.L = &c.inflight.mu
	c.runq.ready.L = &c.runq.mu
	// The client resets a partition to this both when the group has no commit of it
	// and when its position is no longer in the log (retention deleted it). With a
	// Positioner, a partition without a commit gets its start in adjustOffsets (the
	// Positioner's, else the log's end for StartAt latest), so the reset is only the
	// second case, which must go on from the log's start: reset to the end, a restart
	// behind retention skipped the events still in the log, counted nowhere.
	pos, positioned := h.(Positioner)
	c.pos = pos
	reset := kgo.NewOffset().AtStart()
	if cfg.StartAt == "latest" && !positioned {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics.Events),
		kgo.ConsumeResetOffset(reset),
		// An aborted transaction's events never happened, and an open one's may not:
		// every reader of the events topic (the archiver, backfill's and backtests'
		// tails) reads committed, so that one verdict counts neither
		// (docs/architecture.md, "Transactions").
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Its markers too: a partition's position must pass a marker (and the aborted
		// records before an abort marker), or a log ending in one showed a record of
		// lag for good, and retention moving the log's start past it read as events
		// deleted unread; a snapshot at it as one of another log.
		kgo.KeepControlRecords(),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.ProducerLinger(cfg.ProduceLinger),
		// Alerts and dead letters are few and small: compressing them buys little and
		// costs latency and CPU on the hot path.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(1 << 20),
		// A record for a topic the brokers call unknown is held, not failed after the
		// client's default 4 tries: a brief UNKNOWN_TOPIC_OR_PARTITION (metadata lagging
		// a reassignment, a topic made again) failed a dead letter for good, and the
		// malformed event's offset was committed past it. Its event's offset stays held
		// and --max-pending-produce-bytes bounds what waits; a topic missing for good is
		// created or reported at start (live: ingest.EnsureTopics), and at shutdown its
		// records are undelivered, their events read again.
		kgo.UnknownTopicRetries(-1),
		kgo.WithHooks(cfg.Metrics.Waits),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.MaxDecompressBatchBytes(cfg.MaxDecompressedBatchBytes),
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout), kgo.HeartbeatInterval(max(cfg.SessionTimeout/4, 50*time.Millisecond)))
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if positioned || cfg.Tap != nil {
		opts = append(opts, kgo.AdjustFetchOffsetsFn(c.adjustOffsets(pos)))
	}
	cl, err := cfg.Kafka.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	c.cl = cl
	c.reroute = NewRerouter(cl, cfg.Topics.DeadLetters, cfg.DeadLetterMaxBytes, cfg.OnDeadLetterCut, cfg.Metrics, cfg.Logger)
	c.reroute.reread = true // emit holds each record's event offset until done
	c.reroute.charge = c.pending
	return c, nil
}

// Client is the underlying client, e.g. for producing records not tied to an event.
func (c *EventConsumer) Client() *kgo.Client { return c.cl }

// pending counts n bytes produced for events and not yet acknowledged (negative: no
// longer pending), toward MaxPendingProduceBytes and the gauge.
func (c *EventConsumer) pending(n int64) {
	c.inflight.produce(n)
	c.cfg.Metrics.ProducePending.Add(float64(n))
}

func (c *EventConsumer) emit(ps *partState, offset int64, rec *kgo.Record) {
	ps.hold(offset)
	size := producedBytes(rec)
	c.pending(size)
	acked := func() { c.pending(-size) }
	// Background, not the run context: records of handled events must still be
	// delivered while shutting down (bounded by the final flush).
	c.cl.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
		if err != nil {
			// The event's offset stays held until the record is kept in the dead-letter
			// topic instead (or that fails too: then it is logged as lost), and its
			// bytes stay pending as long: the dead letter holds them. A dead letter held
			// for the partition is given up with it (acked, the offset still held).
			c.reroute.failed(r, err, deadLetterEnd{done: func() { acked(); ps.release(offset) }, holds: ps.held, given: acked})
			return
		}
		acked()
		c.reroute.Delivered(r)
		ps.release(offset)
	})
}

func (c *EventConsumer) part(p int32) *partState {
	c.partsMu.RLock()
	ps, ok := c.parts[p]
	c.partsMu.RUnlock()
	if ok {
		return ps
	}
	c.partsMu.Lock() // defensive: fetches follow assignment, but never lose a record over it
	defer c.partsMu.Unlock()
	if ps, ok = c.parts[p]; !ok {
		ps = newPartState(p)
		c.parts[p] = ps
	}
	return ps
}

func (c *EventConsumer) onAssigned(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := slices.Clone(m[c.cfg.Topics.Events])
	c.partsMu.Lock()
	for _, p := range ps {
		delete(c.givenUp, p) // assigned again by the group, as any other
	}
	c.partsMu.Unlock()
	// franz-go calls this after every join, with nothing new too, so that a kept
	// partition held under a former member id is found at the latest here.
	kept := c.heldByFormerMember(cl)
	if len(kept) > 0 {
		c.inflight.wait()
		c.log.Warn("partitions lost: this member's group session had expired and it joined again as a new member, which the group gave them back to; another member may have read them meanwhile, so they start again from the group's committed offsets",
			"topic", c.cfg.Topics.Events, "partitions", kept)
		c.lose(kept)
		ps = append(ps, kept...)
	}
	member, _ := cl.GroupMetadata()
	c.commitMu.Lock()
	c.heldAs = member
	c.commitMu.Unlock()
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // no HandleBatch runs with Assigned
	slices.Sort(ps)
	c.partsMu.Lock()
	for _, p := range ps {
		if _, owned := c.parts[p]; !owned { // a repeated assignment keeps its progress
			c.parts[p] = newPartState(p)
		}
		c.cfg.Metrics.Unread.WithLabelValues(strconv.Itoa(int(p))) // zeros, so that a dashboard sees the series
		c.cfg.Metrics.Refetched.WithLabelValues(strconv.Itoa(int(p)))
	}
	c.partsMu.Unlock()
	c.log.Info("partitions assigned", "topic", c.cfg.Topics.Events, "partitions", ps)
	c.h.Assigned(ps)
	if len(kept) > 0 {
		c.reposition(cl, kept)
	}
}

// heldByFormerMember is the owned partitions when they were assigned under a member
// id other than the group's current one. franz-go (v1.22.3) rejoins without calling
// OnPartitionsLost when an offset commit, not a heartbeat, is the first to meet an
// expired session: its join refused as an unknown member, it joins again as a new
// member still claiming what it held, and keeps, with no callback and at its old read
// position, whatever of that the group gives back. Another member may have owned those
// partitions meanwhile and moved on, so what this process holds of them is stale: they
// are lost, as they would have been had the heartbeat met the expiry first.
//
// cl is the callback's client: c.cl is not yet set during the first rebalance.
func (c *EventConsumer) heldByFormerMember(cl *kgo.Client) []int32 {
	member, _ := cl.GroupMetadata()
	if c.heldAs == "" || member == "" || member == c.heldAs {
		return nil
	}
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	return slices.Sorted(maps.Keys(c.parts))
}

// reposition moves the client's read position of partitions ps, kept across a rejoin
// (heldByFormerMember) and assigned afresh, to where newly assigned ones start: the
// group's committed offset, or the Positioner's resume point, else where the reset
// policy says (the log's start, or its end for StartAt latest). Their state was
// dropped: going on from where the former member read them counted nothing of what lay
// before. What cannot be read from the brokers is tried again for up to
// ShutdownTimeout; then the partitions are given up and the consumer stops
// (giveUpKept).
func (c *EventConsumer) reposition(cl *kgo.Client, ps []int32) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	committed, err := c.retried(ctx, "reading the group's committed offsets of partitions kept across a rejoin", ps, func() (map[int32]int64, error) {
		return c.committedOf(ctx, adm, ps)
	})
	if err != nil {
		c.giveUpKept(cl, ps, fmt.Errorf("reading the group's committed offsets of partitions %v, kept across a rejoin: %w", ps, err))
		return
	}
	var resume map[int32]int64
	if c.pos != nil {
		resume = c.pos.ResumeAt(committed)
	}
	at := make(map[int32]int64, len(ps))
	var unplaced []int32
	for _, p := range ps {
		o, ok := resume[p]
		if !ok || o < 0 {
			o = committed[p]
		}
		if o < 0 {
			unplaced = append(unplaced, p)
		}
		at[p] = o
	}
	var starts map[int32]int64
	if len(unplaced) > 0 {
		starts, err = c.retried(ctx, "listing where partitions kept across a rejoin, without a commit, start", unplaced, func() (map[int32]int64, error) {
			return c.resetOffsetsOf(ctx, adm, unplaced)
		})
		if err != nil {
			c.giveUpKept(cl, ps, fmt.Errorf("listing where partitions %v, kept across a rejoin and never committed, start: %w", unplaced, err))
			return
		}
	}
	set := make(map[int32]kgo.EpochOffset, len(ps))
	c.partsMu.RLock()
	for _, p := range ps {
		if o, ok := starts[p]; ok {
			// As a fresh assignment without a commit: nothing of it known as handled,
			// its tap told only the group's reset knows where it starts.
			if c.cfg.Tap != nil {
				c.cfg.Tap.Resume(p, -1)
			}
			set[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
			continue
		}
		if s := c.parts[p]; s != nil {
			s.mu.Lock()
			s.handled = kgo.EpochOffset{Epoch: -1, Offset: at[p]}
			s.committed = max(s.committed, committed[p])
			s.fetched = at[p]
			s.mu.Unlock()
		}
		if c.cfg.Tap != nil {
			c.cfg.Tap.Resume(p, at[p])
		}
		// Epoch -1: the position is ours, not the log's, so no truncation check.
		set[p] = kgo.EpochOffset{Epoch: -1, Offset: at[p]}
	}
	c.partsMu.RUnlock()
	cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{c.cfg.Topics.Events: set})
}

// retried runs read until it succeeds, backing off between tries, for as long as ctx
// and ShutdownTimeout allow; what is read concerns partitions ps, and doing says what.
func (c *EventConsumer) retried(ctx context.Context, doing string, ps []int32, read func() (map[int32]int64, error)) (map[int32]int64, error) {
	return backoff.Retry(ctx, read,
		backoff.WithBackOff(backoff.NewExponentialBackOff()),
		backoff.WithMaxElapsedTime(c.cfg.ShutdownTimeout),
		backoff.WithNotify(func(err error, next time.Duration) {
			c.log.Warn(doing+" failed; trying again", "topic", c.cfg.Topics.Events, "partitions", ps, "in", next, "err", err)
		}))
}

// committedOf is the group's committed offset of each of the events topic's partitions
// ps, -1 for none. A partition's error fails it all: taken as no commit, the partition
// started over from the reset position.
func (c *EventConsumer) committedOf(ctx context.Context, adm *kadm.Client, ps []int32) (map[int32]int64, error) {
	fetched, err := adm.FetchOffsets(ctx, c.cfg.Group)
	if err != nil {
		return nil, fmt.Errorf("fetching the offsets of group %s: %w", c.cfg.Group, err)
	}
	committed := make(map[int32]int64, len(ps))
	for _, p := range ps {
		committed[p] = -1
		if o, ok := fetched.Lookup(c.cfg.Topics.Events, p); ok {
			if o.Err != nil {
				return nil, fmt.Errorf("fetching group %s's offset of partition %d: %w", c.cfg.Group, p, o.Err)
			}
			committed[p] = max(o.At, -1)
		}
	}
	return committed, nil
}

// resetOffsetsOf is where the events topic's partitions ps start when the group has no
// commit of them, as a fresh assignment starts them: the log's start, or for StartAt
// latest its end (the last stable offset, as the consumer reads committed).
func (c *EventConsumer) resetOffsetsOf(ctx context.Context, adm *kadm.Client, ps []int32) (map[int32]int64, error) {
	list, which := adm.ListStartOffsets, "start"
	if c.cfg.StartAt == "latest" {
		list, which = adm.ListCommittedOffsets, "end"
	}
	listed, err := list(ctx, c.cfg.Topics.Events)
	if err != nil {
		return nil, fmt.Errorf("listing the %s offsets of topic %s: %w", which, c.cfg.Topics.Events, err)
	}
	out := make(map[int32]int64, len(ps))
	for _, p := range ps {
		o, ok := listed.Lookup(c.cfg.Topics.Events, p)
		switch {
		case !ok:
			return nil, fmt.Errorf("listing the %s offsets of topic %s: partition %d not listed", which, c.cfg.Topics.Events, p)
		case o.Err != nil:
			return nil, fmt.Errorf("listing the %s offset of partition %d of topic %s: %w", which, p, c.cfg.Topics.Events, o.Err)
		}
		out[p] = o.Offset
	}
	return out, nil
}

// ErrKeptUnplaced is what Run stops with when partitions kept across a rejoin could
// not be placed (giveUpKept).
var ErrKeptUnplaced = errors.New("partitions kept across a rejoin could not be placed")

// giveUpKept gives up partitions ps, kept across a rejoin, whose position could not be
// read (why), and stops the consumer with why. Going on from where the former member
// read them counted nothing of what lay before, their state dropped; franz-go cannot
// give a partition back to the group but by leaving it, so the stop (which leaves) lets
// the group assign them afresh to another member, or to this process restarted. They
// are paused first: the run loop ends at its next poll, and whatever was fetched of them
// from the former position is not handed out meanwhile. They are lost again, not
// revoked at the stop's leave: the handler's state of them holds nothing read here.
func (c *EventConsumer) giveUpKept(cl *kgo.Client, ps []int32, why error) {
	cl.PauseFetchPartitions(map[string][]int32{c.cfg.Topics.Events: ps})
	c.log.Error("partitions kept across a rejoin are given up and the consumer stops: where to read them from could not be learned, and going on from where this member read them before its session expired would count nothing of what lay before; the group assigns them afresh once this member leaves",
		"topic", c.cfg.Topics.Events, "partitions", ps, "err", why)
	c.lose(ps)
	c.partsMu.Lock()
	for _, p := range ps {
		c.givenUp[p] = true
	}
	c.partsMu.Unlock()
	c.halt(fmt.Errorf("%w: %w", ErrKeptUnplaced, why))
}

// held is ps without the partitions given up by giveUpKept: lost already.
func (c *EventConsumer) held(ps []int32) []int32 {
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	return slices.DeleteFunc(slices.Clone(ps), func(p int32) bool { return c.givenUp[p] })
}

// adjustOffsets asks pos (if not nil) where the newly assigned partitions resume, and
// tells the tap.
func (c *EventConsumer) adjustOffsets(pos Positioner) func(context.Context, map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	return func(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
		ps := offsets[c.cfg.Topics.Events]
		if len(ps) == 0 {
			return offsets, nil
		}
		committed := make(map[int32]int64, len(ps))
		for p, o := range ps {
			// Without a commit the offset is the reset position, a negative sentinel.
			committed[p] = max(o.EpochOffset().Offset, -1)
		}
		var resume map[int32]int64
		if pos != nil {
			resume = pos.ResumeAt(committed)
		}
		for p, at := range resume {
			if _, ok := ps[p]; ok && at >= 0 {
				// Epoch -1: the resume point is ours, not the log's, so no truncation check.
				ps[p] = kgo.NewOffset().At(at).WithEpoch(-1)
			}
		}
		if c.cfg.StartAt == "latest" {
			// A partition with neither a commit nor a resume point (the Positioner
			// could not look the log up) starts at the log's end, as latest says: the
			// client's reset, for a Positioner, is the log's start (NewEventConsumer).
			for p := range ps {
				if at, ok := resume[p]; (!ok || at < 0) && committed[p] < 0 {
					ps[p] = kgo.NewOffset().AtEnd()
				}
			}
		}
		// Everything below the resume point was handled (by an earlier owner), so
		// Delivered can answer before the first batch.
		c.partsMu.RLock()
		for p := range ps {
			at, ok := resume[p]
			if !ok {
				at = committed[p]
			}
			if s := c.parts[p]; s != nil && at >= 0 {
				s.mu.Lock()
				if s.handled.Offset < 0 {
					s.handled = kgo.EpochOffset{Epoch: -1, Offset: at}
					s.committed = max(s.committed, committed[p])
				}
				s.fetched = at
				s.mu.Unlock()
			} else if s != nil {
				s.mu.Lock()
				s.fetched = max(committed[p], -1)
				s.mu.Unlock()
			}
			if c.cfg.Tap != nil {
				if at < 0 { // no resume point given: the consumer starts at its commit
					at = committed[p]
				}
				c.cfg.Tap.Resume(p, max(at, -1))
			}
		}
		c.partsMu.RUnlock()
		return offsets, nil
	}
}

// Delivered is the offset of partition p below which every record has been handled and
// everything produced on its behalf delivered (or failed and logged): what a commit
// would record now; -1 when nothing was handled or produced for p since it was assigned
// here and its resume point is not known. owned is false when p is not owned.
func (c *EventConsumer) Delivered(p int32) (offset int64, owned bool) {
	c.partsMu.RLock()
	ps := c.parts[p]
	c.partsMu.RUnlock()
	if ps == nil {
		return -1, false
	}
	off, _ := ps.committable()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if off.Offset < 0 && len(ps.holds) > 0 {
		// A first batch is in flight (handled is set when it returns): not yet.
		return ps.holds[0].offset, true
	}
	return off.Offset, true
}

func (c *EventConsumer) onRevoked(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	ps := c.held(m[c.cfg.Topics.Events])
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // the revoked partitions' batches are handled before their last commit
	slices.Sort(ps)
	if len(c.heldByFormerMember(cl)) > 0 {
		// Held since before a rejoin franz-go did not call lost: the new owner starts
		// from the group's commits, not from anything stale of ours.
		c.log.Warn("partitions lost: this member's group session had expired and it joined again as a new member before it was told; another member may have read them meanwhile",
			"topic", c.cfg.Topics.Events, "partitions", ps)
		c.lose(ps)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	// Only the revoked partitions' held dead letters are waited for: one a partition
	// that stays holds is no reason to hold up the group's rebalance.
	if err := c.reroute.FlushHolds(ctx, c.holdsOf(ps)...); err != nil {
		c.log.Warn("flushing produced records before giving up partitions", "err", err)
	}
	c.giveUpHolds(ps)
	// The commit has a timeout of its own: a record still waiting (a dead-letter topic
	// refusing writes) spends the flush's, and a commit given what was left of it
	// failed, leaving the events handled before the held offset to be read again.
	cctx, ccancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer ccancel()
	c.commitMu.Lock()
	c.commitLocked(cctx, ps)
	c.markLeaving(ps)
	c.commitMu.Unlock()
	c.log.Info("partitions revoked", "topic", c.cfg.Topics.Events, "partitions", ps)
	// The handler may do I/O (the daemon snapshots the partitions' state), so it runs
	// outside commitMu: commits of the partitions that stay are not held up by it, and
	// the leaving ones are no longer committed. It runs before they are dropped, so that
	// it can still ask Delivered.
	c.h.Revoked(ps)
	if c.cfg.Tap != nil {
		c.cfg.Tap.Revoked(ps)
	}
	c.dropParts(ps)
}

func (c *EventConsumer) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ps := c.held(m[c.cfg.Topics.Events])
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // no HandleBatch runs with Revoked
	slices.Sort(ps)
	c.log.Warn("partitions lost (group session expired); their uncommitted events will be handled again", "partitions", ps)
	c.lose(ps)
}

// lose gives up partitions ps as lost: nothing of them is committed or written, the
// handler told Lost. No HandleBatch may be running.
func (c *EventConsumer) lose(ps []int32) {
	c.commitMu.Lock()
	c.markLeaving(ps)
	c.commitMu.Unlock()
	c.giveUpHolds(ps)
	if l, ok := c.h.(Loser); ok {
		l.Lost(ps)
	} else {
		c.h.Revoked(ps)
	}
	if c.cfg.Tap != nil {
		c.cfg.Tap.Revoked(ps)
	}
	c.dropParts(ps)
}

// markLeaving excludes partitions ps from periodic commits. c.commitMu must be held, so
// that no commit that still includes them is under way.
func (c *EventConsumer) markLeaving(ps []int32) {
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	for _, p := range ps {
		if s := c.parts[p]; s != nil {
			s.mu.Lock()
			s.leaving = true
			s.mu.Unlock()
		}
	}
}

// holdsOf is the held dead letters of the owned partitions among ps.
func (c *EventConsumer) holdsOf(ps []int32) []*Holds {
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	var held []*Holds
	for _, p := range ps {
		if s := c.parts[p]; s != nil {
			held = append(held, s.held)
		}
	}
	return held
}

// giveUpHolds gives up the dead letters held for partitions ps (every owned one when
// nil), waiting at most ShutdownTimeout for their holds to end: a partition's next
// owner reads its held events again (their offsets uncommitted), so a hold left
// running wrote the event's dead letter a second time once the topic took writes,
// and kept its bytes pending and its wait in ProduceWaits for a partition no longer
// owned. A revoke or a stop calls it after the flush that gave them their chance.
func (c *EventConsumer) giveUpHolds(ps []int32) {
	c.partsMu.RLock()
	held := map[int32]*Holds{}
	for p, s := range c.parts {
		if ps == nil || slices.Contains(ps, p) {
			held[p] = s.held
		}
	}
	c.partsMu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	for p, h := range held {
		n, err := h.GiveUp(ctx)
		if err != nil {
			c.log.Error("held dead letters were not all given up with their partition", "partition", p, "held", n, "err", err)
		} else if n > 0 {
			c.log.Warn("dead letters held (their topic refusing them) were given up with their partition; their events' offsets were not committed, so whoever reads the partition next handles those events again",
				"partition", p, "held", n)
		}
	}
}

func (c *EventConsumer) dropParts(ps []int32) {
	c.partsMu.Lock()
	defer c.partsMu.Unlock()
	for _, p := range ps {
		delete(c.parts, p)
		c.cfg.Metrics.dropLag(p)
	}
}

// commitLocked commits the committable offsets of partitions ps (all owned partitions
// if ps is nil). c.commitMu must be held.
func (c *EventConsumer) commitLocked(ctx context.Context, ps []int32) {
	owned := map[int32]*partState{}
	c.partsMu.RLock()
	for p, s := range c.parts {
		if ps == nil && s.isLeaving() || ps != nil && !slices.Contains(ps, p) {
			continue
		}
		owned[p] = s
	}
	c.partsMu.RUnlock()
	offs := map[int32]kgo.EpochOffset{}
	limiter, _ := c.h.(CommitLimiter)
	for p, s := range owned {
		off, ok := s.committable()
		if ok && limiter != nil {
			if limit, limited := limiter.CommitLimit(p); limited {
				off.Offset = min(off.Offset, limit)
				ok = off.Offset >= 0 && off.Offset > s.committed
			}
		}
		if ok {
			offs[p] = off
		}
	}
	if len(offs) == 0 {
		return
	}
	var cerr error
	// The member id checked is the one the commit is made as, just before it is sent:
	// after a rejoin franz-go did not call lost (heldByFormerMember), the new member's
	// commit of what was handled from a stale position would be accepted, and could
	// move back what another member committed meanwhile.
	heldAs := c.heldAs
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		if heldAs != "" && req.MemberID != heldAs {
			return fmt.Errorf("not committed as member %s: the partitions were assigned to member %s, whose session expired", req.MemberID, heldAs)
		}
		return nil
	})
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topics.Events: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
						cerr = fmt.Errorf("partition %d: %w", p.Partition, err)
					}
				}
			}
		})
	if cerr != nil {
		c.log.Warn("committing offsets failed; will retry", "err", cerr)
		return
	}
	for p, off := range offs {
		s := owned[p]
		s.mu.Lock()
		s.committed = off.Offset
		s.mu.Unlock()
	}
}

// Commit commits what has been handled (and delivered) so far.
func (c *EventConsumer) Commit(ctx context.Context) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.commitLocked(ctx, nil)
}

// Run consumes until ctx is done, then finishes the batch in hand, waits (up to
// ShutdownTimeout) for records produced on behalf of handled events, commits, leaves the
// group and closes the client. It returns nil after a clean shutdown, and an error when
// the brokers refuse the consumer for good (authentication, authorization), or when
// partitions kept across a rejoin could not be placed (ErrKeptUnplaced): then it stops
// without waiting for ctx.
func (c *EventConsumer) Run(ctx context.Context) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
		defer cancel()
		CloseClient(cctx, c.cl, true)
	}()
	commitCtx, stopCommits := context.WithCancel(context.Background())
	var commits sync.WaitGroup
	commits.Go(func() {
		t := time.NewTicker(c.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-commitCtx.Done():
				return
			case <-t.C:
				c.Commit(commitCtx)
			}
		}
	})

	// Stopped before the client closes (deferred after CloseClient, so run before it).
	lagCtx, stopLag := context.WithCancel(ctx)
	var lagging sync.WaitGroup
	lagging.Go(func() { c.lagLoop(lagCtx) })
	defer func() {
		stopLag()
		lagging.Wait()
	}()

	workers := c.cfg.Workers
	var working sync.WaitGroup
	for range workers {
		working.Go(func() {
			for b := c.runq.next(); b != nil; b = c.runq.next() {
				c.handleOne(b)
				c.runq.handled(b)
				c.inflight.done(len(b.recs), b.bytes)
			}
		})
	}
	defer func() {
		c.runq.close()
		working.Wait()
	}()

	var (
		batches []*Batch
		fatal   error
	)
	pacer, _ := c.cfg.Tap.(TapPacer)
	// A halt (giveUpKept, from a rebalance callback) ends the loop as ctx does, waking
	// a poll that waits for records.
	pollCtx, stopPolls := context.WithCancel(ctx)
	defer stopPolls()
	defer context.AfterFunc(c.halted, stopPolls)()
	for pollCtx.Err() == nil && fatal == nil {
		// A fetch is taken whole, because franz-go requests a broker's next fetch only
		// once the last of its buffered one is taken: polling a fetch in parts left the
		// fetch pipeline (one goroutine per broker: request, wait, decompress), which
		// sets a plain consumer's pace, idle while the workers handled the first parts.
		// Taken whole, the next fetch is requested and decompressed while the workers
		// are busy, and what they hold is bounded here instead.
		if limit := c.inflight.waitRoom(pollCtx, c.cfg.MaxQueuedRecords, c.cfg.MaxQueuedBytes, c.cfg.MaxPendingProduceBytes, workers); limit != "" && c.cfg.OnQueueFull != nil {
			c.cfg.OnQueueFull(limit)
		}
		if pacer != nil {
			pacer.WaitRoom(pollCtx)
		}
		fs := c.cl.PollRecords(pollCtx, 0)
		if fs.IsClientClosed() {
			break
		}
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if f := fetcherr.Fatal(t, p, err); f != nil {
				fatal = fmt.Errorf("ingest: %w", f)
				if errors.Is(err, kerr.FencedInstanceID) {
					fatal = fmt.Errorf("ingest: instance id %q: %w", c.cfg.InstanceID, f)
					// Out of the group at once, before the stop's drain and commit:
					// franz-go rejoins after a backoff, and a join with the shared id
					// fences the process that now holds it (a nil context only
					// triggers the leave, which a static member sends no request for).
					c.cl.LeaveGroupContext(nil)
				}
				return
			}
			if big, ok := errors.AsType[*kgo.ErrDecompressTooLarge](err); ok {
				// The client reports it once and fetches the partition no more: nothing
				// is read past the batch, so nothing is skipped, and the lag shows it.
				c.log.Error("a record batch of the events topic decompresses past --max-decompressed-batch-bytes: its partition is stopped at it, its events and those after it are not read; raise the bound and restart to read them",
					"topic", t, "partition", p, "offset", big.Offset, "next_offset", big.NextOffset, "max_decompressed_batch_bytes", c.cfg.MaxDecompressedBatchBytes)
				if c.cfg.OnBatchTooLarge != nil {
					c.cfg.OnBatchTooLarge(p, big.Offset)
				}
				return
			}
			c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		batches = batches[:0]
		for _, f := range fs {
			for _, ft := range f.Topics {
				if ft.Topic != c.cfg.Topics.Events {
					continue
				}
				for _, fp := range ft.Partitions {
					batches = c.batchOf(ft.TopicID, fp, batches)
				}
			}
		}
		c.dispatch(batches)
		c.cl.AllowRebalance()
	}
	if err := context.Cause(c.halted); err != nil && fatal == nil {
		fatal = fmt.Errorf("ingest: %w", err)
	}
	c.inflight.wait() // what was polled is handled before the last commit

	stopCommits()
	commits.Wait()
	ctx2, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	if err := c.reroute.Flush(ctx2); err != nil {
		c.log.Error("records produced for handled events were not all delivered at shutdown", "err", err)
	}
	c.giveUpHolds(nil)
	// Its own timeout, as in onRevoked: a flush that timed out has spent ctx2, and the
	// events handled before a held offset must still be committed.
	cctx, ccancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer ccancel()
	c.Commit(cctx)
	return fatal
}

// batchOf appends fp's records, of the events topic with id topicID (zeros when the
// brokers do not say), to batches as one Batch.
func (c *EventConsumer) batchOf(topicID [16]byte, fp kgo.FetchPartition, batches []*Batch) []*Batch {
	if len(fp.Records) == 0 {
		return batches
	}
	ps := c.part(fp.Partition)
	ps.mu.Lock()
	from := ps.fetched
	if again := refetched(fp.Records, from); again > 0 {
		ps.mu.Unlock()
		c.refetched(fp.Partition, fp.Records[:again], from)
		if fp.Records = fp.Records[again:]; len(fp.Records) == 0 {
			return batches
		}
		ps.mu.Lock()
	}
	b := &Batch{Partition: fp.Partition, HighWatermark: fp.HighWatermark, TopicID: topicID, recs: fp.Records, markers: markers(fp.Records), c: c, ps: ps}
	ps.fetched = b.NextOffset()
	ps.mu.Unlock()
	for _, r := range fp.Records {
		b.bytes += heldBytes(r)
	}
	if ls := fp.LogStartOffset; from >= 0 && ls > from {
		c.deletedUnread(fp.Partition, from, min(fp.Records[0].Offset, ls))
	}
	if c.cfg.Tap != nil {
		if ls := fp.LogStartOffset; ls >= 0 && (from < 0 && fp.Records[0].Offset == ls || from >= 0 && from <= ls) {
			from = FromLogStart
		}
		b.tap = c.cfg.Tap.Fetched(fp.Partition, from, fp.LogStartOffset, fp.Records)
	}
	return append(batches, b)
}

// markers counts the transaction markers among recs.
func markers(recs []*kgo.Record) int {
	n := 0
	for _, r := range recs {
		if r.Attrs.IsControl() {
			n++
		}
	}
	return n
}

// refetched is how many of recs, the first, lie below from, the offset after what was
// read of their partition (-1: not known).
func refetched(recs []*kgo.Record, from int64) int {
	if from < 0 {
		return 0
	}
	n, _ := slices.BinarySearchFunc(recs, from, func(r *kgo.Record, from int64) int { return cmp.Compare(r.Offset, from) })
	return n
}

// refetched reports that the brokers gave partition p's records again below from,
// after this consumer had read up to it: the log went back (records lost on a broker,
// an unclean leader election; franz-go then resumes per ConsumeResetOffset, the log's
// start). They are skipped: the events read before were counted once, and those
// written anew at offsets already read cannot be told from them.
func (c *EventConsumer) refetched(p int32, again []*kgo.Record, from int64) {
	c.cfg.Metrics.Refetched.WithLabelValues(strconv.Itoa(int(p))).Add(float64(len(again)))
	c.log.Warn("the brokers gave records again below what was read: the partition's log went back (records lost on a broker); skipped, so that no event is counted twice",
		"topic", c.cfg.Topics.Events, "partition", p, "from", again[0].Offset, "to", again[len(again)-1].Offset, "read_up_to", from-1, "records", len(again))
}

// deletedUnread reports that the broker deleted partition p's events from offset
// from (where this consumer resumed or went on) up to to before they were read: the
// log's start had passed them (retention), and the client went on from there. Offsets
// skipped for other reasons (transaction markers, compaction) leave the log's start
// where it was, so they are not counted.
func (c *EventConsumer) deletedUnread(p int32, from, to int64) {
	c.cfg.Metrics.Unread.WithLabelValues(strconv.Itoa(int(p))).Add(float64(to - from))
	c.log.Warn("events were deleted by the broker before they were read: no rule counted them (the consumer fell behind the topic's retention)",
		"topic", c.cfg.Topics.Events, "partition", p, "from", from, "to", to-1, "events", to-from)
}

// dispatch queues each partition's batch behind the partition's earlier ones and
// returns without waiting for any, so that the next poll is fetched and handed out
// while this one is handled. Waiting for the whole poll made a poll of one partition
// (a fetch of one large record batch) run on one core while the other idled, and
// waiting for a partition's previous batch before queueing the rest of the poll held
// the next fetch back as much. Rebalance callbacks and the shutdown wait for the
// batches in flight instead (inflight), so that HandleBatch still never runs
// concurrently with Assigned or Revoked, nor after the last commit. Workers live as
// long as Run, so their stacks stay grown: a goroutine per batch would copy its stack
// up on every batch.
func (c *EventConsumer) dispatch(batches []*Batch) {
	for _, b := range batches {
		c.inflight.add(len(b.recs), b.bytes)
		c.runq.push(b)
	}
}

func (c *EventConsumer) handleOne(b *Batch) {
	c.h.HandleBatch(b)
	if b.tap != nil {
		b.tap.Handled()
	}
	last := b.recs[len(b.recs)-1]
	b.ps.mu.Lock()
	b.ps.handled = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
	// The larger: lagLoop may have seen the log's end after this batch was fetched.
	b.ps.end = max(b.ps.end, b.HighWatermark)
	b.ps.behindSince = time.Time{} // it moved
	c.publishLagLocked(b.ps)
	b.ps.mu.Unlock()
}
