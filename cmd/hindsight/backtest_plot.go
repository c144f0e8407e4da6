package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/shown"
)

// maxPlottedRules is the most rules a backtest chart draws: the most firing ones.
const maxPlottedRules = 8

// maxChartPoints is the most points a backtest chart draws per rule. Record times are
// any a producer stamps (one record without a timestamp, -1, is of 1969-12-31), and a
// point a day from the first firing to the last made a chart of 23 MB for 1969 to 2026,
// 238 MB for 1677 to 2262: over a longer span the days are summed into weeks, months,
// or years (1, 2, 5, 10, … of them), the first that fits.
const maxChartPoints = 400

// maxGlyphPoints is the most points per rule a chart marks each with a glyph; a longer
// series is a line alone.
const maxGlyphPoints = 100

// writeBacktestPlot draws rep's firings per day, a line per rule (the most firing
// maxPlottedRules), as an SVG (a PNG if path ends in .png), as `bench` draws its
// reports. Over more than maxChartPoints days the firings are summed per week, month
// or years instead (chartBins), which the title and axis say. A report without firings
// draws nothing and says so.
func writeBacktestPlot(rep *contract.Backtest, path string) (bool, error) {
	rules := slices.Clone(rep.Rules)
	rules = slices.DeleteFunc(rules, func(r contract.BacktestRule) bool { return r.Firings == 0 })
	if len(rules) == 0 {
		return false, nil
	}
	slices.SortStableFunc(rules, func(a, b contract.BacktestRule) int { return cmp.Compare(b.Firings, a.Firings) })
	perRule := make([]map[int64]int, len(rules))
	first, last := int64(1<<62), int64(-1<<62)
	for i, r := range rules {
		perRule[i] = map[int64]int{}
		for _, d := range r.PerDay {
			day, err := time.Parse(time.DateOnly, d.Key)
			if err != nil {
				return false, fmt.Errorf("backtest: a day %q of rule %s/%s: %w", d.Key, r.Scope, r.ID, err)
			}
			n := day.Unix() / 86400
			perRule[i][n] += d.Firings
			first, last = min(first, n), max(last, n)
		}
	}
	bins := chartBinsFor(first, last)
	p := plot.New()
	p.Title.Text = "backtest: firings per " + bins.unit
	if n := len(rules); n > maxPlottedRules {
		// Not a chart of every rule that fired: it says so (the report has them all).
		p.Title.Text = fmt.Sprintf("backtest: firings per %s of the %d rules that fired most; %d more fired, not drawn (see the report)", bins.unit, maxPlottedRules, n-maxPlottedRules)
		rules, perRule = rules[:maxPlottedRules], perRule[:maxPlottedRules]
	}
	p.Y.Label.Text = "firings"
	p.X.Label.Text = bins.axis
	// Ticks at the starts of bins, at most 9 of them.
	starts := make([]int64, 0, bins.count)
	for b := range bins.count {
		starts = append(starts, bins.start(bins.first+b))
	}
	p.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ticks []plot.Tick
		step := max(1, (len(starts)+7)/8)
		for i := 0; i < len(starts); i += step {
			if d := float64(starts[i]); d >= lo && d <= hi {
				ticks = append(ticks, plot.Tick{Value: d, Label: time.Unix(starts[i]*86400, 0).UTC().Format(bins.label)})
			}
		}
		return ticks
	})
	p.Add(plotter.NewGrid())
	// Every bin from the first firing's to the last's, 0 where a rule did not fire, so
	// that a line does not pass over a quiet day (week, month, …).
	var lines []any
	for i, r := range rules {
		sums := make([]int, bins.count)
		for day, n := range perRule[i] {
			sums[bins.of(day)-bins.first] += n
		}
		xys := make(plotter.XYs, len(sums))
		for b, n := range sums {
			xys[b] = plotter.XY{X: float64(starts[b]), Y: float64(n)}
		}
		// The key as the text reports show it: a scope may hold a character XML does
		// not allow (ESC), which gonum's SVG writer passes raw, or a bidi override.
		lines = append(lines, fmt.Sprintf("%s v%d", shown.Text(r.Scope+"/"+r.ID), r.Version), xys)
	}
	add := plotutil.AddLinePoints
	if bins.count > maxGlyphPoints {
		add = plotutil.AddLines
	}
	if err := add(p, lines...); err != nil {
		return false, fmt.Errorf("backtest: plotting: %w", err)
	}
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.X.Min -= 0.5
	p.X.Max += 0.5
	if err := p.Save(22*vg.Centimeter, 12*vg.Centimeter, path); err != nil {
		return false, fmt.Errorf("backtest: writing the chart %s: %w", path, err)
	}
	return true, nil
}

// chartBins is how a chart sums days (numbered from 1970-01-01, UTC): of is the bin of
// a day, start the first day of a bin; bins first to first+count-1 hold the firings.
type chartBins struct {
	unit, axis, label string // "day", "day (UTC)", the tick labels' layout
	of                func(day int64) int64
	start             func(bin int64) int64
	first, count      int64
}

// chartBinsFor is the finest binning of the days first to last into at most
// maxChartPoints bins: days, weeks (from Monday), months, then 1, 2, 5, 10, … years
// (years 0000 to 9999, a report's days, take at most 50 apiece). The console's chart
// (console/static/editor.js, chartBins) bins by the same rule: change both alike.
func chartBinsFor(first, last int64) chartBins {
	dayOf := func(t time.Time) int64 { return t.Unix() / 86400 }
	dateOf := func(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }
	candidates := []chartBins{
		{unit: "day", axis: "day (UTC)", label: time.DateOnly,
			of: func(d int64) int64 { return d }, start: func(b int64) int64 { return b }},
		// 1970-01-01 is a Thursday: day 4 (1970-01-05) is a Monday.
		{unit: "week", axis: "week (UTC, from Monday)", label: time.DateOnly,
			of: func(d int64) int64 { return floorDiv(d-4, 7) }, start: func(b int64) int64 { return b*7 + 4 }},
		{unit: "month", axis: "month (UTC)", label: "2006-01",
			of: func(d int64) int64 { t := dateOf(d); return int64(t.Year())*12 + int64(t.Month()) - 1 },
			start: func(b int64) int64 {
				return dayOf(time.Date(int(floorDiv(b, 12)), time.Month(b-floorDiv(b, 12)*12+1), 1, 0, 0, 0, 0, time.UTC))
			}},
	}
	for k := int64(1); ; k *= 10 {
		for _, n := range []int64{k, 2 * k, 5 * k} {
			unit := "year"
			if n > 1 {
				unit = fmt.Sprintf("%d years", n)
			}
			candidates = append(candidates, chartBins{unit: unit, axis: unit + " (UTC)", label: "2006",
				of:    func(d int64) int64 { return floorDiv(int64(dateOf(d).Year()), n) },
				start: func(b int64) int64 { return dayOf(time.Date(int(b*n), 1, 1, 0, 0, 0, 0, time.UTC)) }})
		}
		if k >= 1000 {
			break
		}
	}
	for i, c := range candidates {
		c.first = c.of(first)
		// The last (5000 years) always fits: a report's days are of the years 0000 to 9999.
		if c.count = c.of(last) - c.first + 1; c.count <= maxChartPoints || i == len(candidates)-1 {
			return c
		}
	}
	panic("unreached")
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// plotPath is the chart's path beside a JSON report: report.json → report.svg.
func plotPath(out string) string {
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
}
