package live

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// Count is the current count of rule k for customer over the partitions owned here;
// ok is false when k is not an active rule.
func (d *Daemon) Count(k rule.Key, customer string) (contract.CountView, bool) {
	ar := d.active.Load().version(k)
	if ar == nil {
		return contract.CountView{}, false
	}
	v := contract.CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.Rule.Version, Customer: customer}
	var windows []window.Window
	var cs countStatus
	d.eachPartition(func(p *partition) {
		v.Count += p.counts.count(customer, ar.Seq)
		windows = p.customerWindows(ar, customer, windows)
		cs.add(d, p, ar)
	})
	v.Status = cs.status()
	if !ar.Rule.Plain() {
		windowView(ar, windows, &v)
	}
	return v, true
}

// countStatus folds what each partition says of a rule version into the status its
// counts carry, as Rules decides the rule's: a count is final only when live, and one
// whose history could not all be counted (error) or that a limit cut (degraded) says
// so, in the one answer as in the listing.
type countStatus struct{ backfilling, blocked, incomplete, degraded bool }

// add takes in partition p's view of ar (p.mu held).
func (cs *countStatus) add(d *Daemon, p *partition, ar *controls.Version) {
	if p.unvouched().Reason != "" {
		// Its state is empty and stays so, whatever its snapshots count: without backfill
		// it had no hand-off to wait for, and its empty counts were answered live (final).
		cs.incomplete = true
		return
	}
	if pb := p.pending[ar]; pb != nil || !p.handedOff(d, ar) {
		cs.backfilling = true
		cs.blocked = cs.blocked || pb != nil && pb.blocked.Load()
	}
	cs.incomplete = cs.incomplete || len(p.incomplete[ar]) > 0
	if ws := p.windows[ar]; ws != nil && windowDegraded(ws, time.Now()) != "" {
		cs.degraded = true
	}
	if p.refused[ar] > 0 || len(p.restoredOverNow(ar)) > 0 {
		cs.degraded = true
	}
}

func (cs *countStatus) status() string {
	switch {
	case cs.incomplete || cs.blocked:
		return contract.RuleError
	case cs.backfilling:
		return contract.RuleBackfilling
	case cs.degraded:
		return contract.RuleDegraded
	}
	return contract.RuleLive
}

// Counts lists rule k's counters over the partitions owned here, by customer; ok is
// false when k is not an active rule.
func (d *Daemon) Counts(k rule.Key) ([]contract.CountView, bool) {
	ar := d.active.Load().version(k)
	if ar == nil {
		return nil, false
	}
	var cs countStatus
	out := []contract.CountView{}
	d.eachPartition(func(p *partition) {
		cs.add(d, p, ar)
		p.counts.each(func(ci int, id uint32, n int64) {
			if id == ar.Seq && n > 0 {
				out = append(out, contract.CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.Rule.Version, Customer: p.counts.name(ci), Count: n})
			}
		})
		if !ar.Rule.Plain() {
			counts := map[string]int64{}
			p.windowCounts(ar, counts)
			for c := range counts {
				v := contract.CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.Rule.Version, Customer: c}
				windowView(ar, p.customerWindows(ar, c, nil), &v)
				out = append(out, v)
			}
		}
	})
	status := cs.status()
	for i := range out {
		out[i].Status = status
	}
	slices.SortFunc(out, func(a, b contract.CountView) int { return cmp.Compare(a.Customer, b.Customer) })
	return out, true
}

// CountsPage lists, in customer order, the counts of rule k for at most limit customers
// whose names sort after after ("" from the first), summed over the partitions owned
// here; next is the last customer listed when more follow ("" on the last page), and ok
// is false when k is not an active rule. It walks every counter once but keeps only
// limit+1 customers, so a page costs memory by its size, not the rule's customers.
func (d *Daemon) CountsPage(k rule.Key, after string, limit int) (page []contract.CountView, next string, ok bool) {
	ar := d.active.Load().version(k)
	if ar == nil {
		return nil, "", false
	}
	var cs countStatus
	pc := newPageCollector(after, limit+1) // one more than the page tells whether more follow
	d.eachPartition(func(p *partition) {
		cs.add(d, p, ar)
		s := &p.counts
		s.each(func(ci int, id uint32, n int64) {
			if id == ar.Seq && n > 0 {
				pc.add(s.nameBytes(ci), n)
			}
		})
		// A windowed rule's groups go straight into the page, each with its largest
		// window's count (a customer's count, as windowView makes it): a map of the
		// partition's customers first (windowCounts) held every customer of the rule,
		// whatever the page size.
		if ws := p.windows[ar]; ws != nil {
			ws.EachGroupCount(pc.addLargest)
		}
	})
	rows := pc.sorted()
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].name
	}
	page = make([]contract.CountView, len(rows))
	status := cs.status()
	for i, e := range rows {
		page[i] = contract.CountView{RuleID: k.ID, Scope: k.Scope, Version: ar.Rule.Version, Customer: e.name, Count: e.n, Status: status}
	}
	if !ar.Rule.Plain() {
		// The windows of the page's customers only, in one more pass.
		windows := make(map[string][]window.Window, len(page))
		for _, v := range page {
			windows[v.Customer] = nil
		}
		d.eachPartition(func(p *partition) {
			if ws := p.windows[ar]; ws != nil {
				// Only the page's groups are copied out (each Window has its own key).
				ws.EachWindowOf(func(c []byte) bool { _, ok := windows[string(c)]; return ok }, func(w *window.Window) {
					windows[w.Customer] = append(windows[w.Customer], *w)
				})
			}
		})
		for i := range page {
			windowView(ar, windows[page[i].Customer], &page[i])
		}
	}
	return page, next, true
}

// pageCollector keeps the n smallest customer names above after, with their counts
// summed (a customer whose events moved partition has a counter in each; add) or their
// largest (a windowed rule's, given group by group; addLargest): a max-heap by
// name, so a name at or above the largest kept is dropped without a copy. A name
// dropped once never comes back: n smaller names are kept, and kept names only get
// smaller.
type pageCollector struct {
	after []byte
	n     int
	heap  []*pageEntry
	index map[string]*pageEntry
}

type pageEntry struct {
	name string
	n    int64
}

func newPageCollector(after string, n int) *pageCollector {
	return &pageCollector{after: []byte(after), n: n, index: map[string]*pageEntry{}}
}

func (pc *pageCollector) add(name []byte, n int64) { pc.put(name, n, false) }

func (pc *pageCollector) addLargest(name []byte, n int64) { pc.put(name, n, true) }

// put keeps name with n, added to its count or, if largest, in place of a smaller one.
// name is copied only when it is kept anew: callers may pass bytes they reuse.
func (pc *pageCollector) put(name []byte, n int64, largest bool) {
	if len(pc.after) > 0 && bytes.Compare(name, pc.after) <= 0 {
		return
	}
	if e := pc.index[string(name)]; e != nil { // no copy: the lookup does not keep the key
		if largest {
			e.n = max(e.n, n)
		} else {
			e.n += n
		}
		return
	}
	if len(pc.heap) == pc.n {
		if pc.n == 0 || bytes.Compare(name, []byte(pc.heap[0].name)) >= 0 {
			return
		}
		delete(pc.index, pc.heap[0].name)
		pc.heap[0] = pc.heap[len(pc.heap)-1]
		pc.heap = pc.heap[:len(pc.heap)-1]
		pc.down(0)
	}
	e := &pageEntry{name: string(name), n: n}
	pc.index[e.name] = e
	pc.heap = append(pc.heap, e)
	pc.up(len(pc.heap) - 1)
}

func (pc *pageCollector) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if pc.heap[parent].name >= pc.heap[i].name {
			return
		}
		pc.heap[parent], pc.heap[i] = pc.heap[i], pc.heap[parent]
		i = parent
	}
}

func (pc *pageCollector) down(i int) {
	for {
		largest, l, r := i, 2*i+1, 2*i+2
		if l < len(pc.heap) && pc.heap[l].name > pc.heap[largest].name {
			largest = l
		}
		if r < len(pc.heap) && pc.heap[r].name > pc.heap[largest].name {
			largest = r
		}
		if largest == i {
			return
		}
		pc.heap[largest], pc.heap[i] = pc.heap[i], pc.heap[largest]
		i = largest
	}
}

// sorted returns the kept customers in name order.
func (pc *pageCollector) sorted() []pageEntry {
	out := make([]pageEntry, len(pc.heap))
	for i, e := range pc.heap {
		out[i] = *e
	}
	slices.SortFunc(out, func(a, b pageEntry) int { return cmp.Compare(a.name, b.name) })
	return out
}

// StartOffsets returns, per owned partition that has evaluated events with rule k's
// active version, the offset of the first such event: the hand-off point for backfill.
func (d *Daemon) StartOffsets(k rule.Key) map[int32]int64 {
	ar := d.active.Load().version(k)
	if ar == nil {
		return nil
	}
	out := map[int32]int64{}
	d.eachPartition(func(p *partition) {
		if start, ok := p.starts[ar]; ok {
			out[p.id] = start
		}
	})
	return out
}

// TopCounts returns the n largest counters of active rules, largest first (ties by
// scope, rule id, then customer). It walks every counter but holds only n.
func (d *Daemon) TopCounts(n int) []contract.CountView {
	if n <= 0 {
		return []contract.CountView{}
	}
	s := d.active.Load()
	order := func(count int64, scope, id string, customer []byte, b *contract.CountView) int {
		return cmp.Or(cmp.Compare(b.Count, count), cmp.Compare(scope, b.Scope), cmp.Compare(id, b.RuleID), cmp.Compare(string(customer), b.Customer))
	}
	top := newTopK(n, func(a, b contract.CountView) bool {
		return order(a.Count, a.Scope, a.RuleID, []byte(a.Customer), &b) > 0
	})
	d.eachPartition(func(p *partition) {
		p.counts.each(func(ci int, id uint32, count int64) {
			ar := s.versionByID(id)
			if ar == nil {
				return
			}
			// The customer's name is copied out only for a counter that makes the list.
			if top.full() && order(count, ar.Key.Scope, ar.Key.ID, p.counts.nameBytes(ci), &top.items[0]) >= 0 {
				return
			}
			top.offer(contract.CountView{RuleID: ar.Key.ID, Scope: ar.Key.Scope, Version: ar.Rule.Version, Customer: p.counts.name(ci), Count: count})
		})
		// A windowed rule's count is a customer's largest open window, taken group by
		// group (a map of every customer had held them all for a top of one): a
		// customer already listed is raised to its larger group's count rather than
		// listed twice.
		for ar, ws := range p.windows {
			if s.versionByID(ar.Seq) != ar {
				continue
			}
			ws.EachGroupCount(func(customer []byte, n int64) {
				if top.full() && order(n, ar.Key.Scope, ar.Key.ID, customer, &top.items[0]) >= 0 {
					return
				}
				if top.raise(func(v *contract.CountView) bool {
					return v.RuleID == ar.Key.ID && v.Scope == ar.Key.Scope && v.Customer == string(customer)
				}, func(v *contract.CountView) { v.Count = max(v.Count, n) }) {
					return
				}
				top.offer(contract.CountView{RuleID: ar.Key.ID, Scope: ar.Key.Scope, Version: ar.Rule.Version, Customer: string(customer), Count: n})
			})
		}
	})
	// Each count carries its rule's status, as Count gives it: backfilling, degraded
	// or error counts are not final.
	best := top.best()
	status := map[rule.Key]string{}
	for i := range best {
		k := rule.Key{Scope: best[i].Scope, ID: best[i].RuleID}
		st, ok := status[k]
		if !ok {
			var cs countStatus
			if ar := s.version(k); ar != nil {
				d.eachPartition(func(p *partition) { cs.add(d, p, ar) })
			}
			st = cs.status()
			status[k] = st
		}
		best[i].Status = st
	}
	return best
}

// RuleList is the answer of /v1/rules: Rules and the rejected controls.
func (d *Daemon) RuleList() contract.RuleList {
	l := d.rules.List()
	l.Rules = d.Rules()
	return l
}

// Rules lists the active rules with their status, last error and start offsets.
func (d *Daemon) Rules() []contract.RuleView {
	views := d.rules.Rules()
	s := d.active.Load()
	queued := d.bf.positions()
	for i := range views {
		k := rule.Key{Scope: views[i].Scope, ID: views[i].ID}
		views[i].StartOffsets = d.StartOffsets(k)
		ar := s.version(k)
		// Until the evaluator holds this very version and every owned partition has
		// adopted it (partition.handedOff), its counts lack history a hand-off has yet
		// to count: the registry is folded (and the view made) before the index is
		// published, and partitions adopt it after.
		handedOff := ar != nil && ar.Rule.Version == views[i].Version
		if ar != nil {
			d.eachPartition(func(p *partition) {
				if !p.handedOff(d, ar) {
					handedOff = false
				}
				if pb := p.pending[ar]; pb != nil {
					v := pb.view(p.id)
					v.QueuePosition = queued[pb]
					views[i].Backfill = append(views[i].Backfill, v)
				}
				views[i].Incomplete = append(views[i].Incomplete, p.incomplete[ar]...)
				if r := p.unvouched(); r.Reason != "" {
					views[i].Incomplete = append(views[i].Incomplete, r)
				}
				p.addHistory(ar, &views[i])
			})
		}
		if len(views[i].Backfill) > 0 || !handedOff {
			views[i].Status = contract.RuleBackfilling
			slices.SortFunc(views[i].Backfill, func(a, b contract.BackfillProgress) int { return cmp.Compare(a.Partition, b.Partition) })
		}
		// A job that retrying alone cannot cure (it keeps retrying, see its last_error)
		// and history that could not be read are errors: the counts are not what they
		// should be. A job failing for a passing reason (the lake unreachable) is still
		// backfilling.
		for _, b := range views[i].Backfill {
			if b.Blocked {
				views[i].Status = contract.RuleError
			}
		}
		if ar != nil && !ar.Rule.Plain() {
			st := &contract.WindowStats{}
			d.eachPartition(func(p *partition) { p.windowStats(ar, st) })
			views[i].WindowState = st
			views[i].Degraded = st.Degraded
		}
		if ar != nil && ar.Rule.Plain() {
			views[i].Degraded = d.refusedView(ar)
			if over := d.restoredOverView(ar); over != "" && views[i].Degraded != "" {
				views[i].Degraded += "; " + over
			} else if over != "" {
				views[i].Degraded = over
			}
		}
		if views[i].Degraded != "" && views[i].Status == contract.RuleLive {
			views[i].Status = contract.RuleDegraded
		}
		if len(views[i].Incomplete) > 0 {
			views[i].Status = contract.RuleError
			slices.SortFunc(views[i].Incomplete, func(a, b contract.MissingRange) int {
				return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.From, b.From))
			})
		}
	}
	return views
}

// refusedView says which owned partitions' counter stores refused matches of plain
// rule version ar, full (--max-counters, or --max-customer-ids-bytes), and
// how many ("": none). Which bound refused them is in the metrics and the log: the
// count a snapshot keeps is the version's alone.
func (d *Daemon) refusedView(ar *controls.Version) string {
	var parts []int32
	var n int64
	d.eachPartition(func(p *partition) {
		if r := p.refused[ar]; r > 0 {
			parts = append(parts, p.id)
			n += r
		}
	})
	if n == 0 {
		return ""
	}
	slices.Sort(parts)
	bound := fmt.Sprintf("at --max-counters %d counters, or --max-customer-ids-bytes %d bytes of customer ids", d.cfg.MaxCounters, d.cfg.MaxCustomerIDBytes)
	if d.cfg.MaxCounters < 0 {
		bound = fmt.Sprintf("at --max-customer-ids-bytes %d bytes of customer ids; --max-counters sets no bound", d.cfg.MaxCustomerIDBytes)
	}
	return fmt.Sprintf("counter store full in partitions %v (%s; hindsight_window_limit_drops_total says which): %d matches that needed a new counter were not counted", parts, bound, n)
}

// State describes the owned partitions' state and snapshots, those being dropped left
// out as /readyz leaves them out (listedPartitions).
func (d *Daemon) State() contract.StateView {
	v := contract.StateView{SnapshotInterval: d.cfg.SnapshotInterval.String(), Group: d.cfg.Group, Topic: d.cfg.Topics.Events, Partitions: []contract.PartitionState{}}
	if d.state != nil {
		v.StateURL = d.state.url
	} else {
		v.SnapshotInterval = "off"
	}
	if d.restoreFrom != nil {
		v.RestoreFrom = d.restoreFrom.url
	}
	now := time.Now()
	for _, p := range d.listedPartitions() {
		p.mu.Lock()
		pv := contract.PartitionState{Partition: p.id, NextOffset: p.next, Customers: p.counts.customers(), Counters: p.counterCount(),
			Backfills: len(p.pending) + len(p.endedReplays), Restored: p.snaps.restored, LastError: p.snaps.lastErr}
		if last := p.snaps.last; last != nil {
			cp := *last
			pv.LastSnapshot = &cp
			age := now.Sub(last.WrittenAt).Seconds()
			lag := max(p.next-last.Offset, 0)
			pv.AgeSeconds, pv.LagOffsets = &age, &lag
		}
		p.mu.Unlock()
		v.Partitions = append(v.Partitions, pv)
	}
	if ws := d.web(); ws != nil {
		problems := ws.ready.snapshotProblems(d, now)
		for i := range v.Partitions {
			v.Partitions[i].Problems = problems[v.Partitions[i].Partition].all
		}
	}
	return v
}

// unvouched is, for a partition held (heldPartition) or abandoned (abandonedPartition),
// the history its counts lack: all of it, from offset 0 on and for as long as it is
// held, as it evaluates nothing; Reason says why and, held, the limit that restores it.
// Reason is "" for any other partition. The caller holds p.mu.
func (p *partition) unvouched() contract.MissingRange {
	if !p.snaps.abandoned {
		return contract.MissingRange{}
	}
	reason := p.snaps.held
	if reason == "" {
		reason = p.snaps.lastErr
	}
	return contract.MissingRange{Partition: p.id, From: 0, To: math.MaxInt64, Reason: reason}
}

// handedOff tells whether p has adopted ar, so that its history below p's start for ar
// is counted or queued to be (pending). Without backfill there is no history to hand
// off: a partition adopts a version at its next event, losing nothing. The caller holds
// p.mu.
func (p *partition) handedOff(d *Daemon, ar *controls.Version) bool {
	if d.bf == nil {
		return true
	}
	_, ok := p.starts[ar]
	return ok
}
