package live_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// A quiet tail is a partition whose last records hold no event — an aborted
// transaction and its marker, or records live dead-letters — after its last event, so
// that no lake file covers them until another event comes. Each kind below takes
// offsets 5–8 after five events (0–4): the log ends at 9.
var quietTails = []struct {
	name  string
	write func(t *testing.T, b *kafkatest.Broker)
}{
	{"an aborted transaction", func(t *testing.T, b *kafkatest.Broker) {
		newTxnWriter(t, b).write(3, kgo.TryAbort, false) // offsets 5–7, its marker 8
	}},
	{"dead letters", func(t *testing.T, b *kafkatest.Broker) {
		var recs []*kgo.Record
		for range 4 {
			recs = append(recs, livetest.Event("c-1", `{"kind":`)) // not JSON
		}
		b.Produce(t, recs...)
	}},
}

// fiveEventsAndAQuietTail writes offsets 0–4 (events of c-1) and tail (5–8), and waits
// until d read past them all and the lake accounts for them all.
func fiveEventsAndAQuietTail(t *testing.T, b *kafkatest.Broker, d *live.Daemon, lake *lakehouse.Lake, tail func(*testing.T, *kafkatest.Broker)) {
	t.Helper()
	var recs []*kgo.Record
	for i := range 5 {
		recs = append(recs, livetest.Event("c-1", fmt.Sprintf(`{"kind":"fail","seq":%d}`, 1000+i)))
	}
	b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "the events archived", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) == 4
	})
	tail(t, b)
	waitNextOffset(t, d, 0, 9)
	poll.Until(t, 30*time.Second, "the lake accounting for the tail", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Through(0) == 8
	})
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if wm := snap.Watermark(0); wm != 4 {
		t.Fatalf("the lake's watermark is %d; want 4, the tail in no file", wm)
	}
}

// waitNextOffset waits until d's position in partition p is next.
func waitNextOffset(t *testing.T, d *live.Daemon, p int32, next int64) {
	t.Helper()
	poll.Until(t, 30*time.Second, fmt.Sprintf("live at offset %d of partition %d", next, p), func() bool {
		for _, ps := range d.State().Partitions {
			if ps.Partition == p && ps.NextOffset == next {
				return true
			}
		}
		return false
	})
}

func openLake(t *testing.T, url string) *lakehouse.Lake {
	t.Helper()
	lake, err := lakehouse.OpenLake(context.Background(), url, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	return lake
}

// TestRuleAfterAQuietTailDeletedByRetentionIsComplete: every event of the partition
// (0–4) was read and archived, a quiet tail followed (5–8), and retention then deleted
// the log up to its end (9). A rule made now hands off at 9: its history is the five
// events, all in the lake. The lake's watermark stayed at 4 (the tail opened no file),
// and the hand-off took 5–8 for history neither the lake nor Kafka held: the rule's
// status was error, 5–8 incomplete (found by a review helper).
func TestRuleAfterAQuietTailDeletedByRetentionIsComplete(t *testing.T) {
	t.Parallel()
	for _, tail := range quietTails {
		t.Run(tail.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			lakeURL := "file://" + t.TempDir()
			d, _ := livetest.StartLive(t, b, func(c *live.Config) {
				c.LakeURL, c.NoArchive, c.NoBackfill = lakeURL, false, false
				c.ArchiveRollAge = 50 * time.Millisecond
				c.BackfillCacheDir = t.TempDir()
			})
			fiveEventsAndAQuietTail(t, b, d, openLake(t, lakeURL), tail.write)
			b.DeleteRecords(t, "events", 0, 9)

			r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
			b.Produce(t, livetest.Upsert(t, r))
			var view contract.RuleView
			poll.Until(t, 30*time.Second, "the rule's hand-off done", func() bool {
				for _, v := range d.Rules() {
					if v.ID == r.ID && len(v.Backfill) == 0 && v.Status != contract.RuleBackfilling {
						view = v
						return true
					}
				}
				return false
			})
			c, _ := d.Count(r.Key(), "c-1")
			if c.Count != 5 || len(view.Incomplete) != 0 || view.Status != contract.RuleLive {
				t.Errorf("count %d, status %s, incomplete %+v; want the 5 events, live, nothing incomplete", c.Count, view.Status, view.Incomplete)
			}
		})
	}
}

// TestQuietTailDeletedWhileStoppedIsNoDeletion: a daemon read and archived every event
// (0–4) and a quiet tail (5–8), and stopped; retention then deleted the log up to its
// end (9). The next daemon, on the same lake, must not record 5–8 as records deleted
// before they were archived, and its next file covers them: a backtest counts every
// event and misses nothing. The restarted archiver resumed at the lake's watermark
// (5), found the log starting at 9, and wrote 5–8 into the lake as deleted (found by a
// review helper).
func TestQuietTailDeletedWhileStoppedIsNoDeletion(t *testing.T) {
	t.Parallel()
	for _, tail := range quietTails {
		t.Run(tail.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			lakeURL, state := "file://"+t.TempDir(), "file://"+t.TempDir()
			group := "quiet-tail-restart"
			first, stop := livetest.StartLive(t, b, func(c *live.Config) {
				c.Group, c.StateURL = group, state
				c.LakeURL, c.NoArchive = lakeURL, false
				c.ArchiveRollAge = 50 * time.Millisecond
			})
			lake := openLake(t, lakeURL)
			fiveEventsAndAQuietTail(t, b, first, lake, tail.write)
			stop()
			select {
			case <-first.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("the first daemon did not stop")
			}
			b.DeleteRecords(t, "events", 0, 9)

			reg := prometheus.NewRegistry()
			livetest.StartLive(t, b, func(c *live.Config) {
				c.Group, c.StateURL, c.Registry = group, state, reg
				c.LakeURL, c.NoArchive = lakeURL, false
				c.ArchiveRollAge = 50 * time.Millisecond
			})
			last := b.Produce(t, livetest.Event("c-1", `{"kind":"fail","seq":2000}`))[0].Offset
			poll.Until(t, 30*time.Second, "the next event archived", func() bool {
				snap, err := lake.Snapshot(context.Background())
				return err == nil && snap.Watermark(0) >= last
			})

			if got := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", "0"); got != 0 {
				t.Errorf("hindsight_events_deleted_unread_total = %v, want 0", got)
			}
			if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 0 {
				t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 0: every event was archived before retention", got)
			}
			snap, err := lake.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			files := snap.Files(lakehouse.Filter{})
			for _, f := range files {
				if n := f.DeletedRecords(); n != 0 {
					t.Errorf("lake file %s (offsets %d–%d) says %d records were deleted before they were archived: %+v", f.Path, f.StartOffset, f.EndOffset, n, f.Deleted)
				}
			}
			if f := files[len(files)-1]; f.StartOffset != 5 || f.EndOffset != last {
				t.Errorf("the last file covers %d–%d; want the tail and the next event, 5–%d", f.StartOffset, f.EndOffset, last)
			}
			if st, _ := snap.Partition(0); st.EmptyAfter != 0 {
				t.Errorf("partition 0 has %d offsets without events after its watermark; want none: the last file covers the tail", st.EmptyAfter)
			}
			r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
			bt, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: []*rule.Rule{r}, Brokers: []string{b.Addr}})
			if err != nil {
				t.Fatal(err)
			}
			if len(bt.Missing) != 0 || bt.Rules[0].Matches != 6 {
				t.Errorf("backtest: %d matches, missing %+v; want the 6 events, nothing missing", bt.Rules[0].Matches, bt.Missing)
			}
		})
	}
}

// TestAbortedTransactionOnAPartitionNewToTheLakeIsNoArchiveLag: partition 0's event was
// archived; partition 1, new to the lake, holds only an aborted transaction of 50
// records and its marker, and went quiet. Nothing of partition 1 is to be archived: the
// archive trails nothing there, and /readyz must not fail for it with
// --max-archive-lag 20. It showed a lag of 51 until partition 1's first event (found by
// a review helper).
func TestAbortedTransactionOnAPartitionNewToTheLakeIsNoArchiveLag(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	lakeURL := "file://" + t.TempDir()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.Registry = lakeURL, false, reg
		c.ArchiveRollAge = 50 * time.Millisecond
		c.ArchiveLagInterval = 200 * time.Millisecond
		c.MaxArchiveLag = 20
		// The event consumer lists the topic's ends too; measuring rarely, it leaves the
		// archiver's lag loop the only lister counted below.
		c.ConsumerLagInterval, c.MaxConsumerStall = time.Hour, 3*time.Hour
	})
	// Each of the archiver's lag measurements lists the events topic's ends once, then
	// sets the gauges; its loop measures one after another.
	var listings atomic.Int64
	b.Cluster.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster.KeepControl()
		lr := req.(*kmsg.ListOffsetsRequest)
		if lr.IsolationLevel == 0 && len(lr.Topics) == 1 && lr.Topics[0].Topic == "events" {
			listings.Add(1)
		}
		return nil, nil, false
	})
	lake := openLake(t, lakeURL)
	ctx := context.Background()
	ev := livetest.Event("c-0", `{"kind":"fail","seq":1}`)
	ev.Partition = 0
	if err := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner())).ProduceSync(ctx, ev).FirstErr(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "partition 0's event archived", func() bool {
		snap, err := lake.Snapshot(ctx)
		return err == nil && snap.Watermark(0) >= 0
	})
	var recs []*kgo.Record
	for i := range 50 {
		r := livetest.Event("c-1", fmt.Sprintf(`{"kind":"fail","seq":%d}`, 100+i))
		r.Partition = 1
		recs = append(recs, r)
	}
	txn := b.TxnClient(t, "txn-"+t.Name(), []string{"events"}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	kafkatest.Transact(t, txn, kgo.TryAbort, recs...) // offsets 0–49, marker 50
	waitNextOffset(t, d, 1, 51)
	poll.Until(t, 30*time.Second, "the lake accounting for partition 1's marker", func() bool {
		snap, err := lake.Snapshot(ctx)
		return err == nil && snap.Through(1) == 50
	})
	// A measure of the lag begun after that: the second listing from now starts once the
	// first, which saw the lake accounting for the marker, has set the gauges.
	from := listings.Load()
	poll.Until(t, 30*time.Second, "two archive lag measurements after the lake accounted for the marker", func() bool {
		return listings.Load() >= from+2
	})
	if got := promtest.Value(t, reg, "hindsight_archive_lag_offsets", "partition", "1"); got != 0 {
		t.Errorf("hindsight_archive_lag_offsets{partition=1} = %v after an aborted transaction, nothing to archive; want 0", got)
	}
	if got := promtest.Value(t, reg, "hindsight_lake_lag_records", "partition", "1"); got != 0 {
		t.Errorf("hindsight_lake_lag_records{partition=1} = %v after an aborted transaction, nothing to archive; want 0", got)
	}
	rd := map[string]any{}
	livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
	if rd["ready"] != true {
		t.Errorf("/readyz after an aborted transaction on a partition new to the lake, nothing to archive: %v", rd)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{1}})
	if p, _ := snap.Partition(1); p.Earliest != 50 || len(files) != 0 {
		t.Errorf("partition 1 in the lake: %+v, %d files; want its history to start at the marker (50), no file", p, len(files))
	}
}
