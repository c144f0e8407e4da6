package live

import (
	"cmp"
	"slices"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
)

// partHistory is what a version's hand-off found in one partition's history below its
// start: the rule view's backtest (contract.RuleHistory). It is kept in memory only,
// from the job's result: a restored partition has none (its counts are restored).
type partHistory struct {
	matches     int64
	firings     int
	first, last time.Time
	// days counts firings per UTC day, the latest Config.MaxHistoryDays of them.
	days    contract.DayCounts
	alerted bool
	// alertsCut counts the firings not sent past Config.MaxHistoryAlerts.
	alertsCut int
	// heldFrom, when positive, is where the history held began (retention dropped the
	// rest).
	heldFrom int64
}

// fired records a crossing of history at record time at.
func (h *partHistory) fired(at time.Time) {
	h.firings++
	if h.first.IsZero() || at.Before(h.first) {
		h.first = at
	}
	if at.After(h.last) {
		h.last = at
	}
	h.days.Add(at.UTC().Format(time.DateOnly), 1)
}

// addHistory sums partition p's history of ar into v (p.mu held).
func (p *partition) addHistory(ar *controls.Version, v *contract.RuleView) {
	h := p.history[ar]
	if h == nil {
		return
	}
	if v.History == nil {
		v.History = &contract.RuleHistory{Alerted: h.alerted}
	}
	rh := v.History
	rh.Partitions = append(rh.Partitions, p.id)
	slices.Sort(rh.Partitions)
	rh.Matches += h.matches
	rh.Firings += h.firings
	rh.AlertsCut += h.alertsCut
	if h.heldFrom > 0 {
		rh.Truncated = append(rh.Truncated, contract.HistoryStart{Partition: p.id, From: h.heldFrom})
		slices.SortFunc(rh.Truncated, func(a, b contract.HistoryStart) int { return cmp.Compare(a.Partition, b.Partition) })
	}
	if !h.first.IsZero() && (rh.FirstFiring == nil || h.first.Before(*rh.FirstFiring)) {
		t := h.first.UTC()
		rh.FirstFiring = &t
	}
	if !h.last.IsZero() && (rh.LastFiring == nil || h.last.After(*rh.LastFiring)) {
		t := h.last.UTC()
		rh.LastFiring = &t
	}
	perDay, cut := h.days.List()
	rh.PerDayCut += cut
	for _, c := range perDay {
		i, ok := slices.BinarySearchFunc(rh.PerDay, c.Key, func(c contract.BacktestCount, d string) int {
			return cmp.Compare(c.Key, d)
		})
		if ok {
			rh.PerDay[i].Firings += c.Firings
		} else {
			rh.PerDay = slices.Insert(rh.PerDay, i, c)
		}
	}
	// Summed over partitions, the days are again the latest h.days.Max: a day one
	// partition cut has that many later ones in it, so it is cut from the sum too.
	if m := h.days.Max; m > 0 && len(rh.PerDay) > m {
		for _, c := range rh.PerDay[:len(rh.PerDay)-m] {
			rh.PerDayCut += c.Firings
		}
		rh.PerDay = slices.Delete(rh.PerDay, 0, len(rh.PerDay)-m)
	}
}
