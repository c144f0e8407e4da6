package live_test

import (
	"path"
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

// TestRestoredFromSaysWhenTheSnapshotWasWritten: /v1/state's restored_from is
// documented as {key, offset, written_at, bytes, counters, took} (docs/architecture.md,
// "HTTP records"): after a restart, written_at is when the restored snapshot was
// written (its name and its header hold it), not the zero time.
func TestRestoredFromSaysWhenTheSnapshotWasWritten(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	for i := range 10 {
		history = append(history, livetest.Event([]string{"a", "b"}[i%2], `{"type":"login"}`))
	}
	b.Produce(t, history...)
	state := t.TempDir()
	group := livetest.Group(t)
	before := time.Now()
	first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "the first daemon to count every event", func() bool { return first.EventsSeen() == 10 })
	stop() // the shutdown snapshots the partition
	<-first.Done()

	second, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	var restored *contract.SnapshotInfo
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := second.State()
		if len(st.Partitions) == 1 && st.Partitions[0].Restored != nil {
			restored = st.Partitions[0].Restored
			return true
		}
		return false
	})
	// The key's second number is the write time in Unix ns (stateStore.key).
	base := strings.TrimSuffix(path.Base(restored.Key), ".snap")
	ns, err := strconv.ParseInt(base[strings.LastIndex(base, "-")+1:], 10, 64)
	if err != nil {
		t.Fatalf("snapshot key %q: %v", restored.Key, err)
	}
	want := time.Unix(0, ns).UTC()
	t.Logf("restored_from: %s", livetest.JSONText(t, restored))
	if restored.WrittenAt.IsZero() || !restored.WrittenAt.Equal(want) || restored.WrittenAt.Before(before) {
		t.Errorf("restored_from.written_at = %s, want %s (when snapshot %s was written)", restored.WrittenAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano), restored.Key)
	}
}
