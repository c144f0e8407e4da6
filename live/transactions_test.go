package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
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
	return &txnWriter{t: t, cl: b.Client(t, kgo.TransactionalID("txn-"+t.Name())), committed: map[string]int64{}, aborted: map[int]bool{}}
}

// write writes n events in a transaction and ends it with end; kgo.TryAbort, or no end
// at all (open), keeps none of them.
func (w *txnWriter) write(n int, end kgo.TransactionEndTry, open bool) {
	w.t.Helper()
	ctx := context.Background()
	if err := w.cl.BeginTransaction(); err != nil {
		w.t.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		w.seq++
		recs[i] = livetest.Event(fmt.Sprintf("c-%d", w.seq%3), fmt.Sprintf(`{"kind":"fail","seq":%d}`, w.seq))
	}
	if err := w.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.t.Fatalf("producing in a transaction: %v", err)
	}
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

	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	for _, f := range snap.Files(lakehouse.Filter{}) {
		got, err := lake.ReadRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			var ev struct{ Seq int }
			if err := json.Unmarshal([]byte(r.Payload), &ev); err != nil {
				t.Fatal(err)
			}
			if w.aborted[ev.Seq] {
				t.Errorf("the lake holds event %d of an aborted transaction", ev.Seq)
			}
			rows++
		}
	}
	if rows != len(w.kept) {
		t.Errorf("the lake holds %d rows, want the %d committed events", rows, len(w.kept))
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
	counts := func() map[string]int64 {
		got := map[string]int64{}
		for c := range w.committed {
			if v, _ := d.Count(r.Key(), c); v.Count != 0 {
				got[c] = v.Count
			}
		}
		return got
	}
	poll.Until(t, 30*time.Second, "live to count the committed events", func() bool { return maps.Equal(counts(), w.committed) })
	time.Sleep(300 * time.Millisecond) // for a count of the open transaction's events to show
	if got := counts(); !maps.Equal(got, w.committed) {
		t.Errorf("live counts %v per customer, want the committed events' %v", got, w.committed)
	}

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
