package live_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountsStatusWhenHistoryMissing: when --max-handoff-buffer is reached, a windowed
// rule gives up its history and /v1/rules says status error (its counts are a lower
// bound); /v1/counts, the one answer and the listing, say the same, not "live"
// (final).
func TestCountsStatusWhenHistoryMissing(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	hd := startHTTPDaemonOn(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.HandoffBufferBytes = 1
	})
	d := hd.Daemon
	var history []*kgo.Record
	produce := func(n int) { produceFailures(t, b, &history, n, 5, 3) }
	produce(300)
	waitCommitted(t, b, d, "the first events")
	r := livetest.ParseRule(t, windowHandoffRules[0])
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, windowHandoffRules[:1])
	produce(300)
	waitCommitted(t, b, d, "every event")
	release()

	poll.Until(t, 30*time.Second, "the rule to say its history is missing", func() bool {
		for _, v := range d.Rules() {
			if v.ID == r.ID {
				return v.Status == contract.RuleError && len(v.Incomplete) > 0
			}
		}
		return false
	})
	var cv contract.CountView
	_, one := hd.request(t, "GET", "/v1/counts?scope=*&rule="+r.ID+"&customer=c-0", "", nil)
	if err := json.Unmarshal([]byte(one), &cv); err != nil {
		t.Fatal(err)
	}
	var page contract.CountsPage
	_, list := hd.request(t, "GET", "/v1/counts?scope=*&rule="+r.ID, "", nil)
	if err := json.Unmarshal([]byte(list), &page); err != nil {
		t.Fatal(err)
	}
	if cv.Status != contract.RuleError || len(page.Counts) == 0 || page.Counts[0].Status != contract.RuleError {
		t.Errorf("/v1/rules says error; /v1/counts?customer=c-0 says %q, the listing %+v", cv.Status, page.Counts)
	}
}
