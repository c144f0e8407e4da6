package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHeldPartitionCountsAreNotFinal: (--no-backfill, the livetest default) a
// partition held because its snapshots were refused for their size evaluates nothing
// and restored nothing, yet /v1/counts (Count) answers its customers with the counts
// of the empty state and status "live", which the contract says is final: 0 logins of
// a customer the refused snapshots count 4 of, with nothing saying so. A partition
// restarted without its history (restore failed, --no-backfill) says it lacks it
// (historyLost → incomplete ranges → error); the held one says nothing.
func TestHeldPartitionCountsAreNotFinal(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := t.TempDir()
	group := "held-counts-live"
	cust := func(i int) string {
		return fmt.Sprintf("customer-with-a-rather-long-identifier-%03d-%s", i, strings.Repeat("x", 20))
	}
	const customers, rounds, lowered = 30, 4, 600

	a, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval = group, "file://"+state, 100*time.Millisecond
	})
	var produced int64
	for range rounds {
		recs := make([]*kgo.Record, 0, customers) // one client a round, not one an event
		for i := range customers {
			recs = append(recs, livetest.Event(cust(i), `{"type":"login"}`))
			produced++
		}
		b.Produce(t, recs...)
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), func() bool {
			st := a.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == produced
		})
	}
	if v, _ := a.Count(r.Key(), cust(0)); v.Count != rounds || v.Status != contract.RuleLive {
		t.Fatalf("first run: %s has %d logins (%s), want %d (live)", cust(0), v.Count, v.Status, rounds)
	}
	stop()
	<-a.Done()

	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, lowered
	})
	poll.Until(t, 20*time.Second, "the partition held", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || !strings.HasPrefix(st.Partitions[0].LastError, "restore refused for size") {
			return false
		}
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+second.HTTPAddr()+"/readyz", &rd)
		return !rd.Ready
	})
	v, ok := second.Count(r.Key(), cust(0))
	if !ok {
		t.Fatal("the rule is not active")
	}
	if v.Status == contract.RuleLive {
		t.Errorf("the partition is held (its snapshots, counting %d logins of %s, refused for their size), yet /v1/counts answers %d logins with status %q (final)",
			rounds, cust(0), v.Count, v.Status)
	}
}
