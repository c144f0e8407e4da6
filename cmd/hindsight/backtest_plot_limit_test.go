package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestBacktestChartSaysRulesWereLeftOut: a backtest of more firing rules than the chart
// draws (maxPlottedRules) must not give a chart that looks like every firing rule's:
// each rule that fired is drawn, or the chart says how many were left out. The ninth
// was left out silently (found by a review helper).
func TestBacktestChartSaysRulesWereLeftOut(t *testing.T) {
	t.Parallel()
	rep := &contract.Backtest{}
	for i := range 9 {
		rep.Rules = append(rep.Rules, contract.BacktestRule{Scope: "*", ID: fmt.Sprintf("rule-%d", i), Version: 1,
			Firings: 100 - i, PerDay: []contract.BacktestCount{{Key: "2026-01-01", Firings: 100 - i}}})
	}
	path := filepath.Join(t.TempDir(), "report.svg")
	drawn, err := writeBacktestPlot(rep, path)
	if err != nil || !drawn {
		t.Fatalf("writeBacktestPlot: %v, drawn %v", err, drawn)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rules {
		if name := fmt.Sprintf("%s/%s v%d", r.Scope, r.ID, r.Version); !strings.Contains(string(svg), name) && !strings.Contains(string(svg), "1 more fired, not drawn") {
			t.Errorf("rule %s fired %d times but the chart neither draws it nor says it left it out", name, r.Firings)
		}
	}
}
