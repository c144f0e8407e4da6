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
	perDay      map[string]int
	alerted     bool
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
	if h.perDay == nil {
		h.perDay = map[string]int{}
	}
	h.perDay[at.UTC().Format(time.DateOnly)]++
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
	for day, n := range h.perDay {
		i, ok := slices.BinarySearchFunc(rh.PerDay, day, func(c contract.BacktestCount, d string) int {
			switch {
			case c.Key < d:
				return -1
			case c.Key > d:
				return 1
			}
			return 0
		})
		if ok {
			rh.PerDay[i].Firings += n
		} else {
			rh.PerDay = slices.Insert(rh.PerDay, i, contract.BacktestCount{Key: day, Firings: n})
		}
	}
}
