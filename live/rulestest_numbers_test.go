package live_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestRulesTestNumbersAreLive holds `hindsight rules test` (rulecheck over a rules file
// on disk) to a live daemon over the same event text: a JSON number written with an
// exponent and no fraction (1e3, 2e5) is a number to live, so it must be one to the
// rule's tests too — the same alerts, field for field.
func TestRulesTestNumbersAreLive(t *testing.T) {
	t.Parallel()
	events := []string{
		`{"type":"download","account":1e3,"bytes":1e5,"ts":"2026-01-01T00:00:00Z"}`,
		`{"type":"download","account":1e3,"bytes":1e5,"ts":"2026-01-01T00:01:00Z"}`,
	}
	file := `{"rules":[
 {"id":"per-account","scope":"*","when":{"path":"$.type","op":"==","value":"download"},
  "group_by":["$.account"],"window":{"size":"1h"},"time":"$.ts","threshold":2,
  "alert":{"context":["$.bytes"]},
  "tests":[{"name":"two downloads","customer":"c-1","events":[` + strings.Join(events, ",") + `],"expect":{"alerts":1}}]},
 {"id":"bytes","scope":"*","when":{"path":"$.type","op":"==","value":"download"},
  "aggregate":{"fn":"sum","path":"$.bytes"},"window":{"size":"1h"},"time":"$.ts","threshold":150000,
  "tests":[{"name":"200000 bytes","customer":"c-1","events":[` + strings.Join(events, ",") + `],"expect":{"alerts":1}}]}]}`
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := rule.ReadRulesFileTests(path)
	if err != nil {
		t.Fatal(err)
	}

	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	for _, r := range f.Rules {
		b.Produce(t, livetest.Upsert(t, r))
		waitRule(t, d, r.Key(), r.Version)
	}
	for _, e := range events {
		b.Produce(t, livetest.Event("c-1", e))
	}
	waitSeen(t, d, int64(len(events)))
	liveAlerts := map[string][]string{}
	for _, a := range alertsOn(t, b, 2) {
		liveAlerts[a.RuleID] = append(liveAlerts[a.RuleID], alertFields(t, a))
	}

	for _, tt := range f.Tests {
		res := rulecheck.Run(path, tt)
		var got []string
		for _, a := range res.Alerts {
			got = append(got, alertFields(t, a))
		}
		slices.Sort(got)
		want := liveAlerts[tt.Rule.ID]
		slices.Sort(want)
		if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
			t.Errorf("rule %s, test %q:\nrules test\n%s\nlive\n%s\nthe test's events as evaluated: %s", tt.Rule.ID, tt.Name, g, w, tt.Events)
		}
		for _, p := range res.Problems {
			t.Errorf("rule %s: rules test problem: %s", tt.Rule.ID, p)
		}
	}
}

// alertFields is what of an alert record is the rule's verdict: not where or by whom it
// was found (partition, offset, event_time, source).
func alertFields(t *testing.T, a contract.Alert) string {
	t.Helper()
	g, err := json.Marshal(a.Group)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(a.Context)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("id=%s status=%s count=%d value=%g group=%s context=%s window=%v-%v samples=%v severity=%s",
		a.AlertID, a.Status, a.Count, a.Value, g, c, a.WindowStart, a.WindowEnd, a.Samples, a.Severity)
}
