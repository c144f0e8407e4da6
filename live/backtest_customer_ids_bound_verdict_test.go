package live_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestBacktestReachesLivesVerdictAtCustomerIDsBound: live bounds a partition's running
// totals by --max-customer-ids-bytes as by --max-counters (README: a new customer past
// it is not counted, the rule degraded). README says backtest and rules test take
// --max-counters "so given live's value they reach live's verdict", but their replay
// (window.Replay) has no bound on the ids' bytes but the store's own 4 GiB, and neither
// command takes --max-customer-ids-bytes: the same events give live's degraded
// verdict and a backtest that counts every customer. 200 customers of 1,000-byte ids
// past a 64 KiB bound: live counts some, degraded; the backtest must say the same.
func TestBacktestReachesLivesVerdictAtCustomerIDsBound(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.MaxCustomerIDBytes = "ids-bound-verdict", 64<<10
		c.LakeURL, c.NoArchive = lakeURL, false
	})
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	const customers = 200
	var ids []string
	var events []*kgo.Record
	for i := range customers {
		id := fmt.Sprintf("c-%03d-", i) + strings.Repeat("x", 1000-6)
		ids = append(ids, id)
		events = append(events, livetest.Event(id, `{"type":"x"}`))
	}
	// One produce, in order on the one partition: a client a customer was most of the
	// test's time (17.6 s of the race pass).
	b.Produce(t, events...)
	waitSeen(t, d, customers)
	counted := 0
	for _, id := range ids {
		if count(t, d, r.Key(), id) > 0 {
			counted++
		}
	}
	v := ruleView(t, d, r.Key())
	if v.Status != contract.RuleDegraded || counted == customers {
		t.Fatalf("live counted %d of %d customers, status %q: the bound was not reached, the test proves nothing", counted, customers, v.Status)
	}
	t.Logf("live: %d of %d customers counted, degraded: %s", counted, customers, v.Degraded)

	// Given live's bound, as `hindsight backtest --max-customer-ids-bytes` gives it.
	bt, err := backtest.Run(context.Background(), backtest.Config{Lake: openLake(t, lakeURL), Rules: []*rule.Rule{r}, Brokers: []string{b.Addr},
		Limits: window.Limits{MaxCustomerIDBytes: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	got := bt.Rules[0]
	if got.Matches != customers {
		t.Fatalf("backtest read %d matches, want all %d events", got.Matches, customers)
	}
	if got.Firings != counted || got.Degraded == "" {
		t.Errorf("backtest of the same events: %d firings, degraded %q; live fired for %d customers and is degraded (%s): not one verdict, and backtest has no --max-customer-ids-bytes to give it live's bound",
			got.Firings, got.Degraded, counted, v.Degraded)
	}
}
