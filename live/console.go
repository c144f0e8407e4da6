package live

import (
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// ConsoleBackend is what the rule console reads from this daemon.
func (d *Daemon) ConsoleBackend() console.Backend { return consoleBackend{d} }

type consoleBackend struct{ d *Daemon }

func (b consoleBackend) Rules() contract.RuleList { return b.d.RuleList() }

// Counts walks every counter and every open window once (as TopCounts does) and keeps,
// per active rule version, the number of customers, the total and the top customers:
// memory in the number of rules times top, not in the number of counters. A rule kept
// per group and window counts, per customer, its largest open window's count, as
// /v1/counts shows it (partition.windowCounts, which holds one partition's customers of
// one rule at a time); a customer whose events moved partition is counted once per
// partition, as a plain counter is.
func (b consoleBackend) Counts(top int) map[rule.Key]contract.CountSummary {
	s := b.d.active.Load()
	type acc struct {
		sum contract.CountSummary
		top *topK[contract.CustomerCount]
	}
	worse := func(a, b contract.CustomerCount) bool {
		if a.Count != b.Count {
			return a.Count < b.Count
		}
		return a.Customer > b.Customer
	}
	per := map[rule.Key]*acc{}
	accOf := func(k rule.Key) *acc {
		a := per[k]
		if a == nil {
			a = &acc{top: newTopK(top, worse)}
			per[k] = a
		}
		return a
	}
	b.d.eachPartition(func(p *partition) { // holds p.mu
		p.counts.each(func(ci int, id uint32, n int64) {
			ar := s.versionByID(id)
			if ar == nil || n <= 0 {
				return
			}
			a := accOf(ar.Key)
			a.sum.Customers++
			a.sum.Total += n
			// The customer's name is copied out only for a counter that makes the list.
			if w := a.top.worstOrNil(); top > 0 && (w == nil || n > w.Count || (n == w.Count && string(p.counts.nameBytes(ci)) < w.Customer)) {
				a.top.offer(contract.CustomerCount{Customer: p.counts.name(ci), Count: n})
			}
		})
		for ar := range p.windows {
			if s.versionByID(ar.Seq) != ar {
				continue // dropped from the active set, not yet from this partition
			}
			counts := map[string]int64{}
			p.windowCounts(ar, counts)
			if len(counts) == 0 {
				continue // every window closed: no customer to show
			}
			a := accOf(ar.Key)
			for c, n := range counts {
				a.sum.Customers++
				a.sum.Total += n
				if w := a.top.worstOrNil(); top > 0 && (w == nil || n > w.Count || (n == w.Count && c < w.Customer)) {
					a.top.offer(contract.CustomerCount{Customer: c, Count: n})
				}
			}
		}
	})
	out := make(map[rule.Key]contract.CountSummary, len(per))
	for k, a := range per {
		a.sum.Top = a.top.best()
		out[k] = a.sum
	}
	return out
}

// CountsPage is one page of rule k's counts with each customer's open windows: the
// daemon's own /v1/counts page (Daemon.CountsPage), so that the console and the API
// show the same figures.
func (b consoleBackend) CountsPage(k rule.Key, after string, limit int) ([]contract.CountView, string, bool) {
	return b.d.CountsPage(k, after, limit)
}

func (b consoleBackend) ListenAddr() string { return b.d.HTTPAddr() }

func (b consoleBackend) Kafka() (ingest.KafkaConfig, ingest.Topics) {
	kc := b.d.cfg.Kafka
	kc.Brokers = slices.Clone(kc.Brokers)
	return kc, b.d.cfg.Topics
}

func (b consoleBackend) LakeURL() string { return b.d.cfg.LakeURL }

func (b consoleBackend) Deliveries() []contract.AlertDelivery {
	if b.d.notify == nil {
		return nil
	}
	return b.d.notify.Recent()
}

func (b consoleBackend) Destinations() []*rule.Destination { return b.d.rules.Destinations() }
func (b consoleBackend) Mutes() []*rule.Mute               { return b.d.rules.MutesListed(time.Now()) }
func (b consoleBackend) Retired(k rule.Key) (int64, bool)  { return b.d.rules.Retired(k) }
