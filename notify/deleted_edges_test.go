package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// commitAlertsAt commits at for group on the alerts partition, as an operator's offset
// reset would before any member of group ran.
func commitAlertsAt(t *testing.T, b *kafkatest.Broker, group string, at int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "alerts", Partition: 0, At: at, LeaderEpoch: -1})
	resp, err := kadm.NewClient(b.Client(t)).CommitOffsets(ctx, group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing %s's alerts offset %d: %v", group, at, err)
	}
}

// alertRecords are n alerts records naming no destination (handled as read).
func alertRecords(prefix string, n int) []*kgo.Record {
	var recs []*kgo.Record
	for i := range n {
		a := alertFor(prefix+string(rune('a'+i)), "c-1", nil)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: a.AppendJSON(nil)})
	}
	return recs
}

// TestAlertsDeletedUnreadFromOffsetZeroAreCounted: a group whose committed offset is 0
// (reset to the earliest before any alert was written) resumes at 0; the retention
// then deletes alerts 0-2 unread. They are counted as the alerts deleted from any other
// committed offset are. resumedAt taking only offsets past 0 for known would leave them
// uncounted, and no test held it.
func TestAlertsDeletedUnreadFromOffsetZeroAreCounted(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const group = "notify-deleted-from-zero"
	commitAlertsAt(t, b, group, 0)
	b.Produce(t, alertRecords("z", 5)...)
	b.DeleteRecords(t, "alerts", 0, 3)
	reg := prometheus.NewRegistry()
	runStage(t, oneAttemptStage(t, b, group, reg))
	poll.Until(t, 20*time.Second, "the alerts left committed", func() bool { return b.GroupCommitted(t, group, "alerts") == 5 })
	if n := promtest.Sum(t, reg, "hindsight_notify_alerts_deleted_unread_total"); n != 3 {
		t.Errorf("hindsight_notify_alerts_deleted_unread_total %v; want 3 (offsets 0-2, deleted past the committed offset 0)", n)
	}
}

// TestAlertsDeletedUnreadCountedUpToTheLogStart: the first record fetched after a
// deletion may lie past the log's start: here an aborted transaction's alerts (3-4),
// which a committed reader is not handed, begin the log the retention left. Only the
// offsets below the log start (1-2, from the committed offset 1) were deleted; the
// aborted ones were never alerts. Counting up to the first record fetched would count
// them too, and no test held it.
func TestAlertsDeletedUnreadCountedUpToTheLogStart(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const group = "notify-deleted-to-log-start"
	commitAlertsAt(t, b, group, 1)
	b.Produce(t, alertRecords("p", 3)...) // 0-2
	txn := b.TxnClient(t, "notify-deleted-aborted", []string{"alerts"})
	kafkatest.Transact(t, txn, kgo.TryAbort, alertRecords("x", 2)...) // 3-4, the abort marker 5
	after := b.Produce(t, alertRecords("q", 1)...)                    // 6
	b.DeleteRecords(t, "alerts", 0, 3)
	reg := prometheus.NewRegistry()
	runStage(t, oneAttemptStage(t, b, group, reg))
	end := kafkatest.ReadThrough(after)
	poll.Until(t, 20*time.Second, "the alerts left committed", func() bool { return b.GroupCommitted(t, group, "alerts") == end })
	if n := promtest.Sum(t, reg, "hindsight_notify_alerts_deleted_unread_total"); n != 2 {
		t.Errorf("hindsight_notify_alerts_deleted_unread_total %v; want 2 (offsets 1-2, below the log start 3; the group had committed 1)", n)
	}
}
