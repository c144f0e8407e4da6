package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestKeeperDoesNotUndoALaterControl: the Keeper the daemon writes after a control it
// did not apply restores what the key held when that control was folded. A control of
// the same key already published behind it (a delete, or a newer destination) was
// folded before the Keeper landed, and the Keeper then undid it: a deleted rule came
// back active, a replaced destination reverted, a deleted mute was in force again
// (found by a review helper). A Keeper now says which offset it was written after,
// and one a later control of its key overtook is stale and followed by a fresh one.
func TestKeeperDoesNotUndoALaterControl(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the controls topic to settle, four times (6.5 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	// settle waits until the keepers are written and folded: the controls topic stops
	// growing (a keeper of a key that holds nothing gets no status, so statuses are
	// not counted). How many keepers come is what the test finds out, so there is no
	// count to wait for: the topic unchanged over 300 ms is taken as settled.
	var n int64
	settle := func() {
		t.Helper()
		last := int64(-1)
		if !poll.WithinEvery(wait, 300*time.Millisecond, func() bool {
			n = b.TopicRecords(t, "controls")
			settled := n == last
			last = n
			return settled
		}) {
			t.Fatalf("timed out after %v waiting for the controls topic to settle (%d records)", wait, n)
		}
	}

	// A rule: the same version with another body (stale), then a delete.
	k := rule.Key{Scope: "*", ID: "r"}
	b.Produce(t, rec("*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","version":1,"threshold":5,"when":{"path":"$.a"}}}`))
	settle()
	b.Produce(t,
		rec("*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","version":1,"threshold":5,"when":{"path":"$.b"}}}`),
		livetest.Delete(t, k))
	settle()
	if v, ok := d.Registry().Version(k); ok {
		t.Errorf("rule */r was deleted, but is active again: version %d (control offset %d); controls topic holds %d records", v.Rule.Version, v.ControlOffset, n)
	}

	// A destination: an invalid upsert of its key, then a valid one replacing it.
	dest := func(url string) string {
		return fmt.Sprintf(`{"op":"upsert","destination":{"scope":"*","name":"secops","type":"webhook","url":%q}}`, url)
	}
	b.Produce(t, rec("destination:*/secops", dest("https://old.example.com/hook")))
	settle()
	b.Produce(t,
		rec("destination:*/secops", `{"op":"upsert","destination":{"scope":"*","name":"secops","type":"fax","url":"https://x.example.com/"}}`),
		rec("destination:*/secops", dest("https://new.example.com/hook")))
	settle()
	if got, ok := d.Registry().Destination("c-1", "secops"); !ok || got.URL != "https://new.example.com/hook" {
		t.Errorf("destination secops is %+v after its newest control set url https://new.example.com/hook", got)
	}

	// A mute: an invalid upsert of its key, then a delete.
	b.Produce(t, rec("mute:*/deploy", `{"op":"upsert","mute":{"scope":"*","id":"deploy","rule":"*"}}`))
	settle()
	b.Produce(t,
		rec("mute:*/deploy", `{"op":"upsert","mute":{"scope":"*","id":"deploy","rule":"not an id"}}`),
		rec("mute:*/deploy", `{"op":"delete","kind":"mute","scope":"*","id":"deploy"}`))
	settle()
	if m := d.Registry().Muted("r", "c-1", time.Now()); m != nil {
		t.Errorf("mute deploy was deleted, but is in force again: %+v", m)
	}

	// A restart folds the topic, stale keepers and all, to the same registry, and
	// writes no keeper of its own.
	before := b.TopicRecords(t, "controls")
	again, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group = livetest.Group(t) + "-restart" })
	poll.Until(t, wait, "the restarted daemon's controls folded", func() bool {
		_, ok := again.Registry().Destination("c-1", "secops")
		return ok
	})
	dst, _ := again.Registry().Destination("c-1", "secops")
	if _, ok := again.Registry().Version(k); ok || dst == nil || dst.URL != "https://new.example.com/hook" || again.Registry().Muted("r", "c-1", time.Now()) != nil {
		t.Errorf("restarted: rule active %v, destination %+v, mute %+v; want the same as the first daemon's", ok, dst, again.Registry().Muted("r", "c-1", time.Now()))
	}
	settle()
	if n != before {
		t.Errorf("the restart wrote %d records to the controls topic, want none", n-before)
	}
}
