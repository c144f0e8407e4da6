package ingest

import (
	"context"
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
	// Under partsMu, and only for partitions still owned: dropParts deletes a revoked
	// partition's series under the same lock, and a late Set would bring it back.
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Topic != c.cfg.Topics.Events {
			return
		}
		if ps := c.parts[o.Partition]; ps != nil {
			ps.mu.Lock()
			ps.end = o.Offset
			c.publishLagLocked(ps)
			ps.mu.Unlock()
		}
	})
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
