package live_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// hourlyLake produces three hours of history (30 failures of customer c-0 an hour,
// users u0–u2) to partition 0 of b and archives it into a file lake, a file per hour:
// the history, the lake's directory and its files in offset order.
func hourlyLake(t *testing.T, b *kafkatest.Broker) ([]*kgo.Record, string, []lakehouse.FileEntry) {
	t.Helper()
	var history []*kgo.Record
	base := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour)
	for h := range 3 {
		recs := make([]*kgo.Record, 30)
		for i := range recs {
			at := base.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Second)
			recs[i] = &kgo.Record{Topic: "events", Key: []byte("c-0"), Timestamp: at,
				Value: fmt.Appendf(nil, `{"kind":"fail","user":"u%d"}`, i%3)}
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	lake, dir := livetest.Archive(t, b, history)
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{0}})
	if len(files) < 3 {
		t.Fatalf("want a file per hour, have %d", len(files))
	}
	return history, dir, files
}

// TestLostLakeFileHandoff: a lake file the manifest lists is gone from the bucket
// (deleted by hand) while Kafka still holds its records. Backfill reads such offsets
// from Kafka, and so must the windowed hand-off and the search for the event that
// crossed a running total's threshold: the alert history owes goes out, and the
// windowed rule goes live with its whole history. Both used to retry the missing
// object for ever.
func TestLostLakeFileHandoff(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	history, dir, files := hourlyLake(t, b)
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(files[1].Path))); err != nil { // offsets 30–59
		t.Fatal(err)
	}

	d := failRulesOverLake(t, b, dir, len(history))

	poll.Until(t, 30*time.Second, "both rules live", func() bool {
		n := 0
		for _, v := range d.Rules() {
			if v.Status == contract.RuleLive {
				n++
			}
		}
		return n == 2
	})
	if v, _ := d.Count(rule.Key{Scope: "*", ID: "fails"}, "c-0"); v.Count != 90 {
		t.Errorf("running total %d, want 90", v.Count)
	}
	for _, v := range d.Rules() {
		if v.ID == "burst" && (v.History == nil || v.History.Matches != 90 || len(v.Incomplete) != 0) {
			t.Errorf("windowed rule's history %+v, incomplete %v: want 90 matches, complete", v.History, v.Incomplete)
		}
	}
	// The running total's alert, owed by history (the fifth event), and none of the
	// windowed rule, whose history crossings a hand-off holds back.
	alerts := alertsOn(t, b, 1)
	if a := alerts[0]; a.RuleID != "fails" || a.Offset != 4 || a.Source != contract.SourceBackfill {
		t.Errorf("alert %+v: want the running total's, naming offset 4, from backfill", a)
	}
}

// TestRetentionBeforeAnyArchiveOneVerdict: Kafka's retention dropped the first 40 of a
// partition's 100 events and the lake holds none of the partition yet. A running total
// counts the 60 held and reports its history truncated (status live); a grouped count
// over the same events must say the same, not call offsets 0–39 missing (status error).
func TestRetentionBeforeAnyArchiveOneVerdict(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := make([]*kgo.Record, 100)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Key: []byte("c-0"), Timestamp: base.Add(time.Duration(i) * time.Second),
			Value: fmt.Appendf(nil, `{"kind":"fail","user":"u%d"}`, i%2)}
	}
	b.Produce(t, recs...)
	b.DeleteRecords(t, "events", 0, 40)
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoArchive, c.NoBackfill = true, false // an empty lake: archiving runs elsewhere, not there yet
		c.BackfillCacheDir = t.TempDir()
	})
	poll.Until(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= 60 })
	plain := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":1000,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	grouped := livetest.ParseRule(t, `{"id":"fails-by-user","scope":"*","version":1,"threshold":1000,"group_by":["$.user"],"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, plain), livetest.Upsert(t, grouped))
	var views map[string]contract.RuleView
	poll.Until(t, 30*time.Second, "both hand-offs done", func() bool {
		views = map[string]contract.RuleView{}
		for _, v := range d.Rules() {
			views[v.ID] = v
		}
		return len(views) == 2 && views["fails"].Status != contract.RuleBackfilling && views["fails-by-user"].Status != contract.RuleBackfilling
	})
	var got []string
	for _, id := range []string{"fails", "fails-by-user"} {
		v := views[id]
		h := contract.RuleHistory{}
		if v.History != nil {
			h = *v.History
		}
		got = append(got, fmt.Sprintf("%s: %s, incomplete %v, %d matches, truncated %v", id, v.Status, v.Incomplete, h.Matches, h.Truncated))
	}
	want := []string{"fails: live, incomplete [], 60 matches, truncated [{0 40}]", "fails-by-user: live, incomplete [], 60 matches, truncated [{0 40}]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n  %v\nwant\n  %v", got, want)
	}
}

// failRulesOverLake starts a daemon that hands off from the lake in dir (archiving
// nothing itself), waits until it consumed the n events b holds, and makes two rules
// counting "fail" events, a plain one (fails) and a windowed one (burst), whose
// hand-offs read the lake.
func failRulesOverLake(t *testing.T, b *kafkatest.Broker, dir string, n int) *live.Daemon {
	t.Helper()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = "file://"+dir, true, false
		c.BackfillCacheDir = t.TempDir()
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	})
	poll.Until(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= int64(n) })
	plain := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":5,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	windowed := livetest.ParseRule(t, `{"id":"burst","scope":"*","version":1,"threshold":5,"group_by":["$.user"],"window":{"size":"1h"},"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, plain), livetest.Upsert(t, windowed))
	return d
}
