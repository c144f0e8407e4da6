package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestBacktestMaxDaysAndWindowLimitFlagsReachTheRun: backtest's --max-days and
// --max-groups were never given by a test, so mutants that left either out of
// backtest.Config (per_day unbounded at the default; groups at window.DefaultLimits)
// survived. Over firings on three days, --max-days 1 lists the last day and counts the
// two earlier in per_day_cut; a rule grouped by $.u over three groups, under
// --max-groups 1, is degraded.
func TestBacktestMaxDaysAndWindowLimitFlagsReachTheRun(t *testing.T) {
	t.Parallel()
	var rows []lakehouse.Row
	for i, day := range []int{1, 2, 3} {
		rows = append(rows, lakehouse.Row{EventTime: time.Date(2026, 3, day, 9, 0, 0, 0, time.UTC),
			Customer: "c" + string(rune('0'+i)), Payload: `{"type":"login","u":"u` + string(rune('0'+i)) + `"}`})
	}
	url := handWrittenLake(t, rows)
	rules := tempFile(t, "rules.yaml", anyEventRule+
		"- {id: grouped, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}, group_by: [$.u], window: {size: 1h}}\n")
	out, err := run(t, "", "backtest", "-f", rules, "--lake", url, "--brokers", "", "--json", "--max-days", "1", "--max-groups", "1")
	if err != nil {
		t.Fatalf("backtest --max-days 1 --max-groups 1: %v\n%s", err, out)
	}
	var rep contract.Backtest
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("backtest --json: %v\n%s", err, out)
	}
	got := map[string]contract.BacktestRule{}
	for _, r := range rep.Rules {
		got[r.ID] = r
	}
	if r := got["any-event"]; r.Firings != 3 || len(r.PerDay) != 1 || r.PerDay[0].Key != "2026-03-03" || r.PerDayCut != 2 {
		t.Errorf("any-event under --max-days 1: %d firings, per_day %+v, per_day_cut %d; want 3, [2026-03-03 1], 2", r.Firings, r.PerDay, r.PerDayCut)
	}
	if r := got["grouped"]; !strings.Contains(r.Degraded, "group") {
		t.Errorf("grouped rule over 3 groups under --max-groups 1: degraded %q, want it degraded by the group limit", r.Degraded)
	}
}
