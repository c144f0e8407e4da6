package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestHugeKeyControlGetsItsStatus: a control record with a 600 KB key that is
// not its rule's SCOPE/ID (the record fits Kafka's 1 MiB) is invalid, and gets a status
// record like every control ("one per control record read"). Its status quoted the key
// three times over (key, message, problem), 2.4 MB, which the control reader's
// producer refused: the status was never published. It carries the key cut
// (controls.MaxKeyBytes), and is matched here by offset. A control after it gets its own.
func TestHugeKeyControlGetsItsStatus(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	livetest.StartLive(t, b, nil)
	huge := &kgo.Record{Topic: "controls", Key: []byte("c-1/" + strings.Repeat("k", 600_000)),
		Value: []byte(`{"op":"upsert","rule":{"id":"r1","scope":"c-1","when":{"path":"$.type"},"threshold":2}}`)}
	b.Produce(t, huge)
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "after"}))
	sts := livetest.Statuses(t, b.Consume(t, "controls.status", 2, 3*time.Second))
	offsets := map[int64]string{}
	for _, st := range sts {
		offsets[st.Offset] = st.Status
	}
	if offsets[1] != "not_found" {
		t.Fatalf("statuses %v: the control after the huge one has none", offsets)
	}
	if offsets[0] != "invalid" {
		t.Errorf("statuses by offset %v: the control at offset 0 (a 600 KB key) has no status, want invalid", offsets)
	}
}
