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

// writeBacktestPlot draws rep's firings per day, a line per rule (the most firing
// maxPlottedRules), as an SVG (a PNG if path ends in .png), as `bench` draws its
// reports. A report without firings draws nothing and says so.
func writeBacktestPlot(rep *contract.Backtest, path string) (bool, error) {
	rules := slices.Clone(rep.Rules)
	rules = slices.DeleteFunc(rules, func(r contract.BacktestRule) bool { return r.Firings == 0 })
	if len(rules) == 0 {
		return false, nil
	}
	slices.SortStableFunc(rules, func(a, b contract.BacktestRule) int { return cmp.Compare(b.Firings, a.Firings) })
	p := plot.New()
	p.Title.Text = "backtest: firings per day"
	if n := len(rules); n > maxPlottedRules {
		// Not a chart of every rule that fired: it says so (the report has them all).
		p.Title.Text = fmt.Sprintf("backtest: firings per day of the %d rules that fired most; %d more fired, not drawn (see the report)", maxPlottedRules, n-maxPlottedRules)
		rules = rules[:maxPlottedRules]
	}
	p.Y.Label.Text = "firings"
	p.X.Label.Text = "day (UTC)"
	p.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ticks []plot.Tick
		step := max(1, int((hi-lo)/8))
		for d := int(lo); float64(d) <= hi; d += step {
			ticks = append(ticks, plot.Tick{Value: float64(d), Label: time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)})
		}
		return ticks
	})
	p.Add(plotter.NewGrid())
	// Every day from the first firing to the last, 0 where a rule did not fire, so that
	// a line does not pass over a quiet day.
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
			perRule[i][n] = d.Firings
			first, last = min(first, n), max(last, n)
		}
	}
	var lines []any
	for i, r := range rules {
		xys := make(plotter.XYs, 0, last-first+1)
		for d := first; d <= last; d++ {
			xys = append(xys, plotter.XY{X: float64(d), Y: float64(perRule[i][d])})
		}
		// The key as the text reports show it: a scope may hold a character XML does
		// not allow (ESC), which gonum's SVG writer passes raw, or a bidi override.
		lines = append(lines, fmt.Sprintf("%s v%d", shown.Text(r.Scope+"/"+r.ID), r.Version), xys)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
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

// plotPath is the chart's path beside a JSON report: report.json → report.svg.
func plotPath(out string) string {
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
}
