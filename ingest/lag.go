package ingest

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// DefaultLagInterval is EventsConfig.LagInterval's default: one ListOffsets request
// per partition leader every few seconds, while a partition that cannot be read shows
// its lag growing within as long.
const DefaultLagInterval = 5 * time.Second

// lagLoop refreshes hindsight_consumer_lag_records of every owned partition from the
// log's end offsets every LagInterval until ctx is done. A batch handled sets the lag
// too, from its fetch's high watermark, but a partition whose fetches fail (a storage
// error on its leader, a batch past MaxDecompressedBatchBytes) hands over no batch:
// its lag stayed at the last batch's, 0 for a consumer that had caught up, exactly
// while it read nothing.
func (c *EventConsumer) lagLoop(ctx context.Context) {
	adm := kadm.NewClient(c.cl)
	t := time.NewTicker(c.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.refreshLag(ctx, adm)
	}
}

func (c *EventConsumer) refreshLag(ctx context.Context, adm *kadm.Client) {
	// Bounded by the interval, so that a hung request does not hold the next
	// measurement back.
	lctx, cancel := context.WithTimeout(ctx, c.cfg.LagInterval)
	defer cancel()
	ends, err := adm.ListEndOffsets(lctx, c.cfg.Topics.Events)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Debug("listing the events topic's end offsets for the consumer lag", "topic", c.cfg.Topics.Events, "err", err)
		}
		return
	}
	// The stall (Stalled) is judged by the last stable offsets: an open transaction's
	// records are behind the high watermark and cannot be read before it ends, which
	// with exactly-once producers (Flink commits at its checkpoints) is minutes.
	stables, err := adm.ListCommittedOffsets(lctx, c.cfg.Topics.Events)
	if err != nil && ctx.Err() == nil {
		c.log.Debug("listing the events topic's last stable offsets for the consumer lag", "topic", c.cfg.Topics.Events, "err", err)
	}
	now := time.Now()
	// Under partsMu, and only for partitions still owned: dropParts deletes a revoked
	// partition's series under the same lock, and a late Set would bring it back.
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Topic != c.cfg.Topics.Events {
			return
		}
		ps := c.parts[o.Partition]
		if ps == nil {
			return
		}
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.end = o.Offset
		c.publishLagLocked(ps)
		if st, ok := stables.Lookup(o.Topic, o.Partition); ok && st.Err == nil {
			ps.stable = st.Offset
		}
		switch {
		case ps.handled.Offset < 0 || ps.stable <= ps.handled.Offset:
			ps.behindSince = time.Time{}
		case ps.behindSince.IsZero():
			ps.behindSince = now
		}
	})
}

// Stall is an owned partition that has records to read and has handled none of them
// since Since.
type Stall struct {
	Partition int32
	// Next is the offset of its next record to handle; Readable the log's last stable
	// offset: the records between can be read.
	Next, Readable int64
	// Since is when a measurement first saw them (every EventsConfig.LagInterval): later
	// than the truth by up to an interval, never earlier.
	Since time.Time
}

// Stalled lists the owned partitions that have had records to read and handled none
// for longer than d at now, in partition order. An idle partition (nothing to read) and
// one whose batches are being handled, however far behind, are not stalled.
func (c *EventConsumer) Stalled(now time.Time, d time.Duration) []Stall {
	var out []Stall
	c.partsMu.RLock()
	for _, ps := range c.parts {
		ps.mu.Lock()
		if !ps.leaving && !ps.behindSince.IsZero() && now.Sub(ps.behindSince) > d {
			out = append(out, Stall{Partition: ps.id, Next: ps.handled.Offset, Readable: ps.stable, Since: ps.behindSince})
		}
		ps.mu.Unlock()
	}
	c.partsMu.RUnlock()
	slices.SortFunc(out, func(a, b Stall) int { return cmp.Compare(a.Partition, b.Partition) })
	return out
}

// publishLagLocked sets ps's lag gauge: the records from its next offset to handle to
// the log's end as last seen (ps.end). Unknown either way (nothing handled yet and no
// resume point, or no end seen), the gauge is left as it is. ps.mu must be held, so that
// measurements of a partition set its gauge in the order they were taken.
func (c *EventConsumer) publishLagLocked(ps *partState) {
	if ps.handled.Offset < 0 || ps.end < 0 {
		return
	}
	c.cfg.Metrics.lag(ps.id).Set(float64(max(0, ps.end-ps.handled.Offset)))
}
