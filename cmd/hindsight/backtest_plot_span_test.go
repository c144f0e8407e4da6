package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestBacktestChartOfFarApartDays: the chart draws every day from the first firing to
// the last, a point for each (AddLinePoints), per rule. Record times are any a producer
// stamps: one firing of a record without a timestamp (-1: 1969-12-31) among firings of
// 2026 makes 20,000 days; a timestamp wrapped by the Kafka client (1677..2262) makes
// up to 213,000. The chart, a by-product of `backtest --out`, must stay a chart: here
// bounded to 2 MB and 10 seconds.
func TestBacktestChartOfFarApartDays(t *testing.T) {
	for _, days := range [][2]string{{"1969-12-31", "2026-12-01"}, {"1677-09-22", "2262-04-10"}} {
		t.Run(days[0], func(t *testing.T) {
			rep := &contract.Backtest{}
			for i := range maxPlottedRules {
				rep.Rules = append(rep.Rules, contract.BacktestRule{Scope: "*", ID: fmt.Sprintf("rule-%d", i), Version: 1,
					Firings: 2, PerDay: []contract.BacktestCount{{Key: days[0], Firings: 1}, {Key: days[1], Firings: 1}}})
			}
			path := filepath.Join(t.TempDir(), "report.svg")
			began := time.Now()
			if _, err := writeBacktestPlot(rep, path); err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 2<<20 || took > 10*time.Second {
				t.Errorf("firings on %s and %s, %d rules: the chart is %d bytes and took %s", days[0], days[1], len(rep.Rules), st.Size(), took.Round(time.Millisecond))
			}
		})
	}
}

// TestChartBins: the chart sums days into the finest of days, weeks (from Monday),
// months and 1, 2, 5, 10, … years that keeps it within maxChartPoints, each day in the
// bin that starts on or before it and ends after it.
func TestChartBins(t *testing.T) {
	day := func(s string) int64 {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Unix() / 86400
	}
	for _, tc := range []struct {
		first, last, unit string
		count             int64
	}{
		{"2026-03-01", "2026-03-01", "day", 1},
		{"2026-01-01", "2027-02-04", "day", 400},
		{"2026-01-01", "2027-02-05", "week", 58},
		{"1969-12-29", "1970-02-01", "day", 35},
		{"2026-01-01", "2033-08-28", "week", 400}, // 2026-01-01 is a Thursday: from 2025-12-29
		{"2026-01-01", "2033-08-29", "month", 92},
		{"2026-01-01", "2059-04-30", "month", 400},
		{"2026-01-01", "2059-05-01", "year", 34},
		{"1969-12-31", "2026-12-01", "year", 58},
		{"1677-09-22", "2262-04-10", "2 years", 294}, // 1676-1677 to 2262-2263
		{"0000-01-01", "9999-12-31", "50 years", 200},
	} {
		b := chartBinsFor(day(tc.first), day(tc.last))
		if b.unit != tc.unit || b.count != tc.count || b.count > maxChartPoints {
			t.Errorf("%s to %s: %d bins of a %s; want %d of a %s", tc.first, tc.last, b.count, b.unit, tc.count, tc.unit)
			continue
		}
		for _, d := range []int64{day(tc.first), day(tc.last), (day(tc.first) + day(tc.last)) / 2} {
			bin := b.of(d)
			if bin < b.first || bin >= b.first+b.count || b.start(bin) > d || b.start(bin+1) <= d {
				t.Errorf("%s to %s, %s: day %s is in bin %d (of %d from %d), which starts %s, the next %s",
					tc.first, tc.last, b.unit, time.Unix(d*86400, 0).UTC().Format(time.DateOnly), bin, b.count, b.first,
					time.Unix(b.start(bin)*86400, 0).UTC().Format(time.DateOnly), time.Unix(b.start(bin+1)*86400, 0).UTC().Format(time.DateOnly))
			}
		}
	}
}
