package live_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBoundsUnknownAtOffsetZeroLacksNoHistory: without backfill, a partition whose
// offsets could not be listed at restore cannot tell whether the group counted events
// of it before (and with snapshots on, restored none), so the versions it adopts say
// their counts lack the history below where they start. Adopted at offset 0 there is
// none below: the counts are complete, and live. (Marking them at 0 would claim the
// empty range 0..-1 missing and answer error for counts that lack nothing.) Both ways
// in: with snapshots the partition adopts the rules at the log's start, looked up
// after the restore; with --no-snapshots at its first event.
func TestBoundsUnknownAtOffsetZeroLacksNoHistory(t *testing.T) {
	t.Parallel()
	for _, noSnapshots := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-snapshots=%v", noSnapshots), func(t *testing.T) {
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
			b.Produce(t, livetest.Upsert(t, r))

			// Admin listings of the events topic (kadm's, no leader epoch: the restore's) fail;
			// the consumer's own (with the leader epoch it knows) are answered.
			var adminFailed atomic.Int32
			b.Cluster.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
				b.Cluster.KeepControl()
				lr := req.(*kmsg.ListOffsetsRequest)
				if len(lr.Topics) == 0 || lr.Topics[0].Topic != "events" || len(lr.Topics[0].Partitions) == 0 ||
					lr.Topics[0].Partitions[0].CurrentLeaderEpoch >= 0 {
					return nil, nil, false
				}
				adminFailed.Add(1)
				return listOffsetsRefused(lr), nil, true
			})
			d, _ := livetest.StartLive(t, b, func(c *live.Config) {
				c.NoSnapshots, c.NoBackfill = noSnapshots, true
				c.RestorePatience = 300 * time.Millisecond
			})
			waitRule(t, d, r.Key(), 1)
			first := b.Produce(t, livetest.Event("a", `{"type":"login"}`))
			if first[0].Offset != 0 {
				t.Fatalf("the first event is at offset %d, want 0", first[0].Offset)
			}
			poll.Until(t, wait, "the event counted", func() bool { return count(t, d, r.Key(), "a") == 1 })
			if adminFailed.Load() == 0 {
				t.Fatal("no admin listing of the events offsets failed: the test shows nothing")
			}
			if st := d.StartOffsets(r.Key()); st[0] != 0 {
				t.Fatalf("rule adopted at offset %d, want 0 (the case this test builds)", st[0])
			}
			if v, _ := d.Count(r.Key(), "a"); v.Status != contract.RuleLive {
				t.Errorf("adopted at offset 0 with the log's bounds unknown: count %d with status %q, want live (nothing lies below offset 0)", v.Count, v.Status)
			}
			if v := ruleView(t, d, r.Key()); v.Status != contract.RuleLive || len(v.Incomplete) != 0 {
				t.Errorf("adopted at offset 0 with the log's bounds unknown: rule status %q, incomplete %+v; want live, nothing incomplete", v.Status, v.Incomplete)
			}
		})
	}
}
