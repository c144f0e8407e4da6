package live_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestUnreadableSnapshotWithoutBackfill: with --no-backfill nothing recounts a
// partition whose snapshot cannot be read. Its counts, which lost their history, say
// so (status error, the history below the resume offset incomplete), and /v1/state
// does not claim they were rebuilt. They were answered as live, and "rebuilt".
func TestUnreadableSnapshotWithoutBackfill(t *testing.T) {
	t.Parallel()
	b, _, state := unreadableSnapshots(t, "unreadable-nb")
	reg := prometheus.NewRegistry()
	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.Registry = "unreadable-nb", "file://"+state, reg // NoBackfill: StartLive's default
	})
	hd := &httpDaemon{Daemon: second, b: b, reg: reg, base: "http://" + second.HTTPAddr()}
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	poll.Until(t, 20*time.Second, "the new event counted", func() bool { return second.EventsSeen() == 1 })

	var cv contract.CountView
	_, body := hd.request(t, "GET", "/v1/counts?scope=*&rule=logins&customer=a", "", nil)
	if err := json.Unmarshal([]byte(body), &cv); err != nil {
		t.Fatal(err)
	}
	var incomplete []contract.MissingRange
	for _, v := range second.Rules() {
		incomplete = append(incomplete, v.Incomplete...)
	}
	p := partitionState(t, hd, 0)
	if cv.Count != 1 || cv.Status != contract.RuleError || len(incomplete) != 1 || incomplete[0].To != 11 ||
		len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "not recounted") {
		t.Errorf("count %d, status %q, incomplete %+v, /v1/state problems %q; want 1, error, offsets 0-11, a problem saying the history was not recounted",
			cv.Count, cv.Status, incomplete, p.Problems)
	}
}
