package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRulesListSaysRejectedControlsWereDropped: past --max-rejected-controls the oldest
// rejected controls are dropped and counted in invalid_dropped (README, Limits). The
// text listing said "2 rejected controls:" of 5, as if they were all (found by a
// review helper). Not parallel: the command sets the process's rule limits.
func TestRulesListSaysRejectedControlsWereDropped(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var recs []*kgo.Record
	for _, k := range []string{"*/a", "*/b", "*/c", "*/d", "*/e"} {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(k), Value: []byte(`{"op":"upsert","rule":{"id"`)}) // not JSON
	}
	b.Produce(t, recs...)

	out, err := run(t, "", "rules", "list", "--max-rejected-controls", "2", "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("rules list: %v\n%s", err, out)
	}
	t.Logf("rules list output:\n%s", out)
	// 5 controls were rejected; 2 are remembered, 3 dropped.
	if !strings.Contains(out, "2 rejected controls (the newest; 3 older ones dropped past --max-rejected-controls):") {
		t.Errorf("rules list presents the 2 remembered rejected controls as all of them; 3 more were dropped (invalid_dropped) and the listing does not say so")
	}

	out, err = run(t, "", "rules", "list", "--json", "--max-rejected-controls", "2", "--brokers", b.Addr)
	if err != nil || !strings.Contains(out, `"invalid_dropped": 3`) {
		t.Errorf("rules list --json: %v\n%s", err, out)
	}
}
