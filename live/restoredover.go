package live

import (
	"fmt"
	"slices"

	"github.com/hindsightdev/hindsight/controls"
)

// A snapshot's counters are restored whole, whatever the store's bounds
// (counterStore.max): they fitted the store they came from, and dropping some would
// lose counts. Restored by a process whose --max-counters or --max-customer-ids-bytes
// is lower, a partition holds more than its bound, and no new counter is made until
// enough are dropped: the plain versions holding counters there are degraded while it
// is over, and the excess is counted as the limit reached, as a window state restored
// over --max-groups is (TestRestoreOverLoweredCounterLimitIsVisible).

// markRestoredOver notes, after p's counters were restored, the limits its store is
// over and the versions in held (those with counters restored) that are degraded for
// it, counting the excess in hindsight_limit_reached_total. p is not published yet.
func (d *Daemon) markRestoredOver(p *partition, held map[*controls.Version]bool) {
	var over []string
	if c := &p.counts; c.max > 0 && c.live > c.max {
		over = append(over, limitCounters)
		d.m.limits.Count(limitCounters).Add(float64(c.live - c.max))
		d.log.Warn("a partition's counters were restored over --max-counters: its rules are degraded, and no new counter is made while it is over",
			"partition", p.id, "counters", c.live, "max_counters", c.max)
	}
	if c := &p.counts; c.maxNames > 0 && int64(c.names.size()) > c.maxNames {
		over = append(over, limitCustomerIDs)
		d.m.limits.Count(limitCustomerIDs).Add(float64(int64(c.names.size()) - c.maxNames))
		d.log.Warn("a partition's customer ids were restored over --max-customer-ids-bytes: its rules are degraded, and no new customer is counted while it is over",
			"partition", p.id, "customer_ids_bytes", c.names.size(), "max_customer_ids_bytes", c.maxNames)
	}
	if len(over) == 0 {
		return
	}
	for ar := range held {
		p.restoredOver[ar] = over
	}
}

// restoredOverNow is the limits p's store was restored over, and still is, that
// degrade ar (nil: none). The caller holds p.mu.
func (p *partition) restoredOverNow(ar *controls.Version) []string {
	var now []string
	for _, l := range p.restoredOver[ar] {
		switch c := &p.counts; l {
		case limitCounters:
			if c.max > 0 && c.live > c.max {
				now = append(now, l)
			}
		case limitCustomerIDs:
			if c.maxNames > 0 && int64(c.names.size()) > c.maxNames {
				now = append(now, l)
			}
		}
	}
	return now
}

// restoredOverView is why ar is degraded by partitions restored over their counter
// bounds, for its view ("" for none).
func (d *Daemon) restoredOverView(ar *controls.Version) string {
	var parts []int32
	var limits []string
	d.eachPartition(func(p *partition) {
		if now := p.restoredOverNow(ar); len(now) > 0 {
			parts = append(parts, p.id)
			for _, l := range now {
				if !slices.Contains(limits, l) {
					limits = append(limits, l)
				}
			}
		}
	})
	if len(parts) == 0 {
		return ""
	}
	slices.Sort(parts)
	slices.Sort(limits)
	return fmt.Sprintf("counters restored over the counter store's bound in partitions %v (--max-counters %d, --max-customer-ids-bytes %d; over %v, lowered since the snapshot): no new counter is made there until enough are dropped",
		parts, d.cfg.MaxCounters, d.cfg.MaxCustomerIDBytes, limits)
}
