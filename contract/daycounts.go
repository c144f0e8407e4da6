package contract

import (
	"maps"
	"slices"
)

// DefaultMaxDays is how many days of firings a per_day list keeps by default (about
// ten years of days with a firing): `hindsight backtest --max-days` and `hindsight
// live --max-history-days`.
const DefaultMaxDays = 3660

// DayCounts counts firings per UTC day ("2006-01-02") keeping only the latest Max
// days: record times are any a producer stamps, and a map of every day with a firing
// grew to millions of entries (years 0001 to 9999). The firings of earlier days are
// counted in Cut, so that per_day plus its cut is every firing.
type DayCounts struct {
	// Max is the most days listed; 0 or negative: no bound.
	Max  int
	days map[string]int
	// below is the latest day trimmed: every day at or before it is cut.
	below string
	cut   int
}

// Add counts n firings on day.
func (c *DayCounts) Add(day string, n int) {
	if c.Max > 0 && c.below != "" && day <= c.below {
		c.cut += n
		return
	}
	if c.days == nil {
		c.days = map[string]int{}
	}
	c.days[day] += n
	// Trimmed at twice the bound, not at each new day past it, so that trimming (a
	// sort) costs a logarithm per day added.
	if c.Max > 0 && len(c.days) > 2*c.Max {
		c.trim()
	}
}

// trim keeps the latest Max days.
func (c *DayCounts) trim() {
	if c.Max <= 0 || len(c.days) <= c.Max {
		return
	}
	keys := slices.Sorted(maps.Keys(c.days))
	for _, d := range keys[:len(keys)-c.Max] {
		c.cut += c.days[d]
		delete(c.days, d)
	}
	c.below = keys[len(keys)-c.Max-1]
}

// List is the days kept, in order, and the firings of earlier days not listed.
func (c *DayCounts) List() (perDay []BacktestCount, cut int) {
	c.trim()
	perDay = make([]BacktestCount, 0, len(c.days))
	for _, d := range slices.Sorted(maps.Keys(c.days)) {
		perDay = append(perDay, BacktestCount{Key: d, Firings: c.days[d]})
	}
	return perDay, c.cut
}

// Cut trims the days to the latest Max and is the firings of earlier days.
func (c *DayCounts) Cut() int {
	c.trim()
	return c.cut
}

// Len is the number of days held.
func (c *DayCounts) Len() int { return len(c.days) }
