package live_test

import (
	"fmt"
	"regexp"
	"strconv"
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

// TestHeldPartitionAdvisedLimitRestoresIt: (--no-backfill, the livetest default) a partition whose snapshots were all
// refused for their size is held, /readyz naming "restart with --max-snapshot-bytes of
// at least N". When the sealed object is longer than the lowered limit's sealed bound,
// the state store's get refuses it unread and derives N from the object's length
// (size - 28), not from the body's decompressed size the S2 block header states (its
// first bytes, already read): a compressible body is several times its object. The
// restart with the advised N then refuses the same snapshot again (its body claims
// more than N), and the partition stays held: the advice does not restore it.
func TestHeldPartitionAdvisedLimitRestoresIt(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := t.TempDir()
	group := "held-advised-limit"
	cust := func(i int) string {
		return fmt.Sprintf("customer-with-a-rather-long-identifier-%03d-%s", i, strings.Repeat("x", 40))
	}
	const customers, rounds, lowered = 20, 4, 100

	a, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval = group, "file://"+state, 100*time.Millisecond
	})
	// Every kept snapshot (the newest 3) holds at least 40 customers.
	var produced int64
	for round := range rounds {
		recs := make([]*kgo.Record, 0, customers) // one client a round, not one an event
		for i := range customers {
			recs = append(recs, livetest.Event(cust(round*customers+i), `{"type":"login"}`))
			produced++
		}
		b.Produce(t, recs...)
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), func() bool {
			st := a.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == produced
		})
	}
	stop()
	<-a.Done()

	held := func(d *live.Daemon) (int64, bool) {
		st := d.State()
		if len(st.Partitions) != 1 || st.Partitions[0].LastError == "" {
			return 0, false
		}
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		if rd.Ready || len(rd.Reasons) == 0 {
			return 0, false
		}
		m := regexp.MustCompile(`at least (\d+)`).FindStringSubmatch(rd.Reasons[0])
		if m == nil {
			return 0, false
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n, true
	}

	second, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, lowered
	})
	var advised int64
	poll.Until(t, 20*time.Second, "the partition held under the lowered limit", func() bool {
		n, ok := held(second)
		advised = n
		return ok
	})
	t.Logf("held under %d: /readyz advises --max-snapshot-bytes of at least %d; last_error: %s", lowered, advised, second.State().Partitions[0].LastError)
	stop()
	<-second.Done()

	third, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, advised
	})
	var again int64
	var restored bool
	poll.Until(t, 20*time.Second, "the partition restored or held again", func() bool {
		st := third.State()
		if len(st.Partitions) == 1 && st.Partitions[0].Restored != nil {
			restored = true
			return true
		}
		n, ok := held(third)
		again = n
		return ok
	})
	if !restored {
		t.Fatalf("restarted with --max-snapshot-bytes %d as /readyz advised (\"at least %d\"), the partition is held again, now advising at least %d: last_error %s",
			advised, advised, again, third.State().Partitions[0].LastError)
	}
	if v, _ := third.Count(r.Key(), cust(0)); v.Count != 1 {
		t.Errorf("restored with the advised limit: %s has %d logins, want 1", cust(0), v.Count)
	}
}
