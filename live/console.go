package live

import (
	"hash/maphash"
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

// Counts walks every counter and every open window of the partitions owned here (not
// one being revoked or lost, as for every query: eachPartition) and
// keeps, per active rule version, the number of customers, the total and the top
// customers, a customer's count being what /v1/counts gives it (Count, CountsPage):
// its counters summed over the partitions, or, for a rule kept per group and window,
// its largest open window's count in any of them. A customer's events can sit on two
// partitions (partitions added to the events topic move keys), and counting each
// partition's counter alone listed it twice with partial counts. Each top customer
// also carries its largest single-partition count (PartitionMax), because live checks
// a plain rule's threshold per partition and a sum reaching it raised no alert.
//
// Memory is in the number of rules times top, not in the number of counters, but for
// the customers on more than one partition: with more than one partition owned, a
// first pass takes a 64-bit hash of each partition's customers (8 bytes a customer a
// partition, for the call), and only customers whose hash is seen in two partitions
// (a hash collision is one too, at worst a name copied for nothing) have their names
// kept, in a map per rule, to be summed before they are counted. Partitions are read
// one at a time, as every query reads them: a customer whose events first reach a
// second partition between the two passes is counted in each.
func (b consoleBackend) Counts(top int) map[rule.Key]contract.CountSummary {
	s := b.d.active.Load()
	type acc struct {
		sum contract.CountSummary
		top *topK[contract.CustomerCount]
		// split holds the customers on more than one partition: their counters,
		// summed and the largest of one partition; largest their largest open
		// window's count.
		split   map[string]splitCount
		largest map[string]int64
	}
	worse := func(a, b contract.CustomerCount) bool {
		if a.Count != b.Count {
			return a.Count < b.Count
		}
		return a.Customer > b.Customer
	}
	offer := func(a *acc, customer []byte, n int64) {
		// The customer's name is copied out only for a count that makes the list.
		if w := a.top.worstOrNil(); top > 0 && (w == nil || n > w.Count || (n == w.Count && string(customer) < w.Customer)) {
			a.top.offer(contract.CustomerCount{Customer: string(customer), Count: n, PartitionMax: n})
		}
	}
	offerString := func(a *acc, customer string, n, partMax int64) {
		if w := a.top.worstOrNil(); top > 0 && (w == nil || n > w.Count || (n == w.Count && customer < w.Customer)) {
			a.top.offer(contract.CustomerCount{Customer: customer, Count: n, PartitionMax: partMax})
		}
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
	ps := b.d.ownedPartitions()
	seed := maphash.MakeSeed()
	split := splitCustomers(ps, s, seed)
	inSplit := func(h uint64) bool { _, ok := split[h]; return ok }
	for _, p := range ps {
		p.mu.Lock()
		if p.revoked {
			// Left out as /v1/counts leaves it (eachPartition): its hand-offs are
			// cancelled, its counts lack their history, and it is no longer this
			// process's (TestConsoleCountsLeaveOutALostPartition).
			p.mu.Unlock()
			continue
		}
		lastCI, lastSplit := -1, false
		p.counts.each(func(ci int, id uint32, n int64) {
			ar := s.versionByID(id)
			if ar == nil || n <= 0 {
				return
			}
			a := accOf(ar.Key)
			a.sum.Total += n
			name := p.counts.nameBytes(ci)
			if ci != lastCI { // each walks a customer's counters together
				lastCI, lastSplit = ci, split != nil && inSplit(maphash.Bytes(seed, name))
			}
			if lastSplit {
				if a.split == nil {
					a.split = map[string]splitCount{}
				}
				sc := a.split[string(name)]
				a.split[string(name)] = splitCount{sum: sc.sum + n, partMax: max(sc.partMax, n)}
				return
			}
			a.sum.Customers++
			offer(a, name, n)
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
				if split != nil && inSplit(maphash.String(seed, c)) {
					if a.largest == nil {
						a.largest = map[string]int64{}
					}
					a.largest[c] = max(a.largest[c], n)
					continue
				}
				a.sum.Customers++
				a.sum.Total += n
				offerString(a, c, n, n)
			}
		}
		p.mu.Unlock()
	}
	out := make(map[rule.Key]contract.CountSummary, len(per))
	for k, a := range per {
		for c, sc := range a.split {
			a.sum.Customers++
			offerString(a, c, sc.sum, sc.partMax)
		}
		for c, n := range a.largest {
			a.sum.Customers++
			a.sum.Total += n
			offerString(a, c, n, n)
		}
		a.sum.Top = a.top.best()
		out[k] = a.sum
	}
	return out
}

// splitCount is a customer's counters of one rule on more than one partition.
type splitCount struct{ sum, partMax int64 }

// splitCustomers returns the hashes (maphash.Bytes with seed) of the customers with a
// count of an active rule version in more than one of ps, or nil when ps is one
// partition or none: Counts' first pass. Each partition's hashes are made unique (once
// its lock is released), so that a customer's groups and counters in one partition are
// one entry, and a hash seen twice is a customer in two partitions.
func splitCustomers(ps []*partition, s *activeSet, seed maphash.Seed) map[uint64]struct{} {
	if len(ps) < 2 {
		return nil
	}
	var all []uint64
	for _, p := range ps {
		p.mu.Lock()
		if p.revoked { // Counts leaves it out
			p.mu.Unlock()
			continue
		}
		from, lastCI := len(all), -1
		p.counts.each(func(ci int, id uint32, n int64) {
			if ci == lastCI || n <= 0 || s.versionByID(id) == nil {
				return
			}
			lastCI = ci
			all = append(all, maphash.Bytes(seed, p.counts.nameBytes(ci)))
		})
		for ar, ws := range p.windows {
			if s.versionByID(ar.Seq) != ar {
				continue
			}
			ws.EachGroupCount(func(customer []byte, _ int64) { all = append(all, maphash.Bytes(seed, customer)) })
		}
		p.mu.Unlock()
		slices.Sort(all[from:])
		all = all[:from+len(slices.Compact(all[from:]))]
	}
	slices.Sort(all)
	split := map[uint64]struct{}{}
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			split[all[i]] = struct{}{}
		}
	}
	return split
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
