package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

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

// txnWriter writes events to the events topic in transactions, and keeps what was
// committed: per customer, and the records.
type txnWriter struct {
	t         *testing.T
	cl        *kgo.Client
	seq       int
	committed map[string]int64
	kept      []*kgo.Record
	aborted   map[int]bool // the seq of every event written in a transaction not committed
}

func newTxnWriter(t *testing.T, b *kafkatest.Broker) *txnWriter {
	return &txnWriter{t: t, cl: b.TxnClient(t, "txn-"+t.Name(), []string{"events"}), committed: map[string]int64{}, aborted: map[int]bool{}}
}

// write writes n events in a transaction and ends it with end; kgo.TryAbort, or no end
// at all (open), keeps none of them.
func (w *txnWriter) write(n int, end kgo.TransactionEndTry, open bool) {
	w.t.Helper()
	ctx := context.Background()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		w.seq++
		recs[i] = livetest.Event(fmt.Sprintf("c-%d", w.seq%3), fmt.Sprintf(`{"kind":"fail","seq":%d}`, w.seq))
	}
	kafkatest.ProduceInTransaction(w.t, w.cl, recs...)
	if open || end == kgo.TryAbort {
		for i := w.seq - n + 1; i <= w.seq; i++ {
			w.aborted[i] = true
		}
	} else {
		for _, r := range recs {
			w.committed[string(r.Key)]++
		}
		w.kept = append(w.kept, recs...)
	}
	if open {
		return
	}
	if err := w.cl.EndTransaction(ctx, end); err != nil {
		w.t.Fatalf("ending a transaction: %v", err)
	}
}

// wantCounted waits until d has counted all it will of what was written, and checks
// that its count of rule r is, per customer, the committed events' and not also other
// events' (what).
func (w *txnWriter) wantCounted(b *kafkatest.Broker, d *live.Daemon, r *rule.Rule, what string) {
	w.t.Helper()
	counts := func() map[string]int64 {
		got := map[string]int64{}
		for c := range w.committed {
			if v, _ := d.Count(r.Key(), c); v.Count != 0 {
				got[c] = v.Count
			}
		}
		return got
	}
	// Polling the count until it matched stopped on a count on its way to a wrong one
	// (read before the aborted events were, or before a history job added events
	// again). Once every record below the last stable offset was evaluated and no
	// history job runs, the count is final. An open transaction's records lie above
	// that offset, where reading committed stops, so no wait reaches past them; a
	// reader of uncommitted records counts the aborted ones below it first.
	waitEvaluatedToStable(w.t, b, d)
	if got := counts(); !maps.Equal(got, w.committed) {
		w.t.Errorf("live counts %v per customer, want the committed events' %v, not %s", got, w.committed, what)
	}
}

// waitEvaluatedToStable waits until d has evaluated every partition of the events
// topic up to its last stable offset, as listed now, and runs no history job.
func waitEvaluatedToStable(t *testing.T, b *kafkatest.Broker, d *live.Daemon) {
	t.Helper()
	stable, err := kadm.NewClient(b.Client(t)).ListCommittedOffsets(context.Background(), "events")
	if err == nil {
		err = stable.Error()
	}
	if err != nil {
		t.Fatalf("listing the events topic's last stable offsets: %v", err)
	}
	want := map[int32]int64{}
	stable.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	poll.Until(t, 30*time.Second, fmt.Sprintf("live to evaluate up to the last stable offsets %v, its history jobs done", want), func() bool {
		seen := map[int32]contract.PartitionState{}
		for _, ps := range d.State().Partitions {
			seen[ps.Partition] = ps
		}
		for p, at := range want {
			// A partition with nothing below its stable offset has no next offset to reach.
			if ps, ok := seen[p]; at > 0 && (!ok || ps.NextOffset < at || ps.Backfills > 0) {
				return false
			}
		}
		return true
	})
}

func (w *txnWriter) total() (n int64) {
	for _, c := range w.committed {
		n += c
	}
	return n
}

// TestAbortedTransactionsCountNowhere: events written in transactions, committed and
// aborted, before a rule exists (archived, and in Kafka only) and after it, then one
// transaction left open. The lake holds the committed events alone; live's count (its
// hand-off from the lake and the Kafka tail, then what it reads) is theirs; a backtest
// over the lake and the tail says the same, and does not wait for the open transaction.
// Every reader read uncommitted: aborted events were counted and archived (a producer
// with exactly-once retries, Kafka Streams or Flink, aborts a failed attempt's
// transaction and writes its events again), and an open transaction's were counted
// before they were decided.
func TestAbortedTransactionsCountNowhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	w := newTxnWriter(t, b)
	w.write(30, kgo.TryCommit, false)
	w.write(20, kgo.TryAbort, false)
	w.write(12, kgo.TryCommit, false)
	w.write(9, kgo.TryAbort, false)
	lake, dir := livetest.Archive(t, b, w.kept)

	seqs := lakeSeqs(t, lake)
	for _, seq := range seqs {
		if w.aborted[seq] {
			t.Errorf("the lake holds event %d of an aborted transaction", seq)
		}
	}
	if len(seqs) != len(w.kept) {
		t.Errorf("the lake holds %d rows, want the %d committed events", len(seqs), len(w.kept))
	}

	// The Kafka tail: written after the archiver stopped, before the rule.
	w.write(7, kgo.TryCommit, false)
	w.write(5, kgo.TryAbort, false)
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = "file://"+dir, true, false
		c.BackfillCacheDir = t.TempDir()
	})
	r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "the rule's hand-off done", func() bool {
		for _, v := range d.Rules() {
			if v.ID == r.ID && v.Status == contract.RuleLive {
				return true
			}
		}
		return false
	})
	w.write(8, kgo.TryCommit, false)
	w.write(6, kgo.TryAbort, false)
	w.write(4, kgo.TryCommit, true) // left open
	w.wantCounted(b, d, r, "the open transaction's")

	rep, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{r}, Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatalf("backtest with a transaction open: %v", err)
	}
	if got := rep.Rules[0].Matches; got != w.total() {
		t.Errorf("the backtest matched %d events, want the %d committed", got, w.total())
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("aborting the open transaction: %v", err)
	}
}

// lakeSeqs returns the seq of every row in lake.
func lakeSeqs(t *testing.T, lake *lakehouse.Lake) []int {
	t.Helper()
	ctx := context.Background()
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows, err := lake.ReadRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			var ev struct{ Seq int }
			if err := json.Unmarshal([]byte(r.Payload), &ev); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, ev.Seq)
		}
	}
	return seqs
}

// TestFedArchiverCatchUpReadsCommitted: live's embedded archiver catches up a
// partition by reading it from Kafka itself (here: a daemon that starts at the topic's
// end over a lake that holds nothing). That reading must be read committed as well:
// the lake must hold no event of an aborted transaction.
func TestFedArchiverCatchUpReadsCommitted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	w := newTxnWriter(t, b)
	w.write(10, kgo.TryCommit, false)
	w.write(7, kgo.TryAbort, false)
	w.write(5, kgo.TryCommit, false)
	lakeURL := "file://" + t.TempDir()
	livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.StartAt = lakeURL, false, "latest"
		c.ArchiveRollAge = 50 * time.Millisecond
	})
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	last := w.kept[len(w.kept)-1].Offset
	poll.Until(t, 30*time.Second, "the lake to reach the last committed event", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) >= last
	})
	seqs := lakeSeqs(t, lake)
	var aborted int
	for _, s := range seqs {
		if w.aborted[s] {
			aborted++
		}
	}
	if aborted > 0 || len(seqs) != len(w.kept) {
		t.Errorf("the lake holds %d rows, %d of them events of an aborted transaction; want the %d committed events alone", len(seqs), aborted, len(w.kept))
	}
}

// TestStartAtLatestOverAnOpenTransaction: a new group with --start-at latest and
// backfill starts where live reads (its rules adopt the partition there, and backfill
// counts what lies below). A transaction open when the daemon starts and committed
// afterwards must be counted once, by live or by backfill: read committed, its events
// are read when it ends.
func TestStartAtLatestOverAnOpenTransaction(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	w := newTxnWriter(t, b)
	w.write(5, kgo.TryCommit, false)
	w.write(4, kgo.TryCommit, true) // left open
	openSeqs := []int{w.seq - 3, w.seq - 2, w.seq - 1, w.seq}
	r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, r))
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.StartAt = false, "latest"
		c.BackfillCacheDir = t.TempDir()
	})
	poll.Until(t, 30*time.Second, "the rule's hand-off done", func() bool {
		for _, v := range d.Rules() {
			if _, ok := v.StartOffsets[0]; ok && v.ID == r.ID && v.Status == contract.RuleLive {
				t.Logf("start offsets %v", v.StartOffsets)
				return true
			}
		}
		return false
	})
	if err := w.cl.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	for _, s := range openSeqs {
		delete(w.aborted, s)
		w.committed[fmt.Sprintf("c-%d", s%3)]++
	}
	w.write(3, kgo.TryCommit, false)
	w.wantCounted(b, d, r, "more")
}

// TestRetentionOfWhatWasReadIsNoDeletion: retention (here DeleteRecords) moved a
// partition's log start past what live had read, deleting nothing unread, next to a
// transaction's offsets that hold no event: an aborted transaction written right after
// (the next batch starts past the log start, after its records and marker), or a
// committed one's marker at the log's end (deleted with it). Nothing was deleted before
// it was read or archived: live counts no deleted event, no lake file lists deleted
// offsets (a backtest would report them missing, a hand-off incomplete history), and
// a backtest over the lake and the tail counts every event.
func TestRetentionOfWhatWasReadIsNoDeletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// before is written after offsets 0–4 and before retention moves the log's
		// start to deleteTo; after, after it. Each is a transaction of 3 events.
		before, after []kgo.TransactionEndTry
		deleteTo      int64
		matches       int64
	}{
		{"an aborted transaction at the log start", nil, []kgo.TransactionEndTry{kgo.TryAbort}, 5, 6},
		{"a commit marker deleted", []kgo.TransactionEndTry{kgo.TryCommit}, nil, 9, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			lakeURL := "file://" + t.TempDir()
			reg := prometheus.NewRegistry()
			livetest.StartLive(t, b, func(c *live.Config) {
				c.LakeURL, c.NoArchive, c.Registry = lakeURL, false, reg
				c.ArchiveRollAge = 50 * time.Millisecond
			})
			lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lake.Close() })
			var recs []*kgo.Record
			for i := range 5 {
				recs = append(recs, livetest.Event("c-1", fmt.Sprintf(`{"kind":"fail","seq":%d}`, 1000+i)))
			}
			b.Produce(t, recs...) // offsets 0–4
			w := newTxnWriter(t, b)
			for _, end := range tc.before {
				w.write(3, end, false)
			}
			// Read up to the log's end, markers included (the group commits it).
			poll.Until(t, 30*time.Second, "the log read", func() bool { return b.GroupCommitted(t, livetest.Group(t), "events") >= tc.deleteTo })
			b.DeleteRecords(t, "events", 0, tc.deleteTo)
			for _, end := range tc.after {
				w.write(3, end, false)
			}
			last := b.Produce(t, livetest.Event("c-1", `{"kind":"fail","seq":2000}`))[0].Offset
			poll.Until(t, 30*time.Second, "the last event archived", func() bool {
				snap, err := lake.Snapshot(context.Background())
				return err == nil && snap.Watermark(0) >= last
			})

			if got := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", "0"); got != 0 {
				t.Errorf("hindsight_events_deleted_unread_total = %v, want 0: every event was read before retention", got)
			}
			if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 0 {
				t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 0: every event was archived before retention", got)
			}
			snap, err := lake.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range snap.Files(lakehouse.Filter{}) {
				if n := f.DeletedRecords(); n != 0 {
					t.Errorf("lake file %s (offsets %d–%d) says %d records were deleted before they were archived: %+v", f.Path, f.StartOffset, f.EndOffset, n, f.Deleted)
				}
			}
			r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
			bt, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: []*rule.Rule{r}, Brokers: []string{b.Addr}})
			if err != nil {
				t.Fatal(err)
			}
			if len(bt.Missing) != 0 || bt.Rules[0].Matches != tc.matches {
				t.Errorf("backtest: %d matches, missing %+v; want the %d events, nothing missing", bt.Rules[0].Matches, bt.Missing, tc.matches)
			}
		})
	}
}

// TestSnapshotAtACommitMarkerSurvivesRetention: a daemon counted every event, the last
// ones in a committed transaction, and stopped with its snapshot at the offset after
// its last event — the transaction's marker. Retention then deleted the log up to its
// end: records already counted, and the marker. The next daemon must restore that
// snapshot: nothing it had not counted was deleted.
func TestSnapshotAtACommitMarkerSurvivesRetention(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	group := "marker-snap"
	r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, r))
	first, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL = group, "file://"+state
	})
	poll.Until(t, 20*time.Second, "the rule live", func() bool { return len(first.Rules()) == 1 })
	w := newTxnWriter(t, b)
	w.write(3, kgo.TryCommit, false) // offsets 0–2, its marker 3
	poll.Until(t, 20*time.Second, "the committed events counted", func() bool { return first.EventsSeen() == 3 })
	stop()
	select {
	case <-first.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the first daemon did not stop")
	}
	b.DeleteRecords(t, "events", 0, 4) // retention: everything, all of it counted
	reg := prometheus.NewRegistry()
	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.Registry = group, "file://"+state, reg
	})
	b.Produce(t, livetest.Event("c-1", `{"kind":"fail","seq":100}`))
	waitEvaluatedToStable(t, b, second)
	var total int64
	for _, c := range []string{"c-0", "c-1", "c-2"} {
		v, _ := second.Count(r.Key(), c)
		total += v.Count
	}
	var incomplete int
	for _, v := range second.Rules() {
		incomplete += len(v.Incomplete)
	}
	if total != 4 || incomplete != 0 {
		t.Errorf("the second daemon counts %d events with %d incomplete ranges; want the 4 events, none incomplete (the snapshot at the marker restored)", total, incomplete)
	}
}

// TestAbortedTransactionIsNoArchiveLag: every event was archived; an aborted
// transaction of 50 records followed, and the partition went quiet. Those records will
// never be archived (nor counted): the archive trails nothing, and /readyz must not
// fail for them with --max-archive-lag 20.
func TestAbortedTransactionIsNoArchiveLag(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.Registry = lakeURL, false, reg
		c.ArchiveRollAge = 50 * time.Millisecond
		c.ArchiveLagInterval = 50 * time.Millisecond
		c.MaxArchiveLag = 20
	})
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	w := newTxnWriter(t, b)
	w.write(5, kgo.TryCommit, false) // offsets 0–4, marker 5
	w.write(50, kgo.TryAbort, false) // offsets 6–55, marker 56
	poll.Until(t, 30*time.Second, "the committed events archived", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) >= 4
	})
	waitNextOffset(t, d, 0, 57) // past the abort marker

	// The gauge is set by the archiver's measurements, each bounded by its 50ms interval
	// (the end offsets, then the newest manifest): on a loaded machine several in a row
	// fail and the gauge keeps an older one's value (57, before the lake held a file),
	// so a fixed wait read it stale. Measured again past the marker, it is 0 for good
	// unless the aborted records count as lag, which this wait's bound then shows.
	lag := func() float64 { return promtest.Value(t, reg, "hindsight_archive_lag_offsets", "partition", "0") }
	if !poll.Within(30*time.Second, func() bool { return lag() == 0 }) {
		t.Errorf("hindsight_archive_lag_offsets = %v 30 s after an aborted transaction, every event archived; want 0", lag())
	}
	rd := map[string]any{}
	livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
	if rd["ready"] != true {
		t.Errorf("/readyz after an aborted transaction, every event archived: %v", rd)
	}
	if got := promtest.Value(t, reg, "hindsight_consumer_lag_records", "partition", "0"); got != 0 {
		t.Errorf("hindsight_consumer_lag_records = %v after an aborted transaction, every event read; want 0", got)
	}
}
