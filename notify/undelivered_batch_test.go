package notify_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestUndeliveredRecordsThatFitAreNotCutForTheirBatch: the undelivered topic takes
// records of up to 8,000 bytes (max.message.bytes). 300 alerts name a destination
// that does not exist ("no destination", given up on as they are read); each one's
// undelivered record is about 1,400 bytes, well within the topic's bound, and so per
// docs/notifications.md ("Retries": "The record holds the whole alert; one ... that
// topic refuses as too large (a smaller max.message.bytes), is written with its
// alert's context values ... left out") each lands whole, and every alerts offset is
// committed. The broker judges a batch: a refused batch of records that each fit had
// every record cut, and past a size even the cut ones' batch was refused for ever, the
// alerts' offsets held.
func TestUndeliveredRecordsThatFitAreNotCutForTheirBatch(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	b.SetTopicConfig(t, "alerts.undelivered", "max.message.bytes", "8000")
	st := oneAttemptStage(t, b, "notify-undelivered-batch", nil)
	const n = 300
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []*kgo.Record
	for i := range n {
		a := alertFor(fmt.Sprintf("a%02d", i), "c-1", []string{"nowhere"})
		note := make([]byte, 1000) // random letters: the batch does not compress away
		for j := range note {
			note[j] = byte('a' + rng.IntN(26))
		}
		a.Context = map[string]json.RawMessage{"$.note": json.RawMessage(`"` + string(note) + `"`)}
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: a.AppendJSON(nil)})
	}
	b.Produce(t, recs...)
	runStage(t, st)

	// An alert's offset is committed once its undelivered record has landed (or was
	// lost, too large even cut, which the count below shows): all committed, the
	// writing is over. Written one at a time once their batch is refused, the records
	// take a few seconds, and more than the 20s the test once read the topic for in a
	// loaded race pass; the bound is only there to end a writer held for ever.
	committed := func() int64 { return b.GroupCommitted(t, "notify-undelivered-batch", "alerts") }
	allCommitted := poll.WithinEvery(90*time.Second, 100*time.Millisecond, func() bool { return committed() == n })
	got := b.Consume(t, "alerts.undelivered", n, 20*time.Second)
	cut, biggest := 0, 0
	for _, r := range got {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		if len(u.Alert.ContextCut) > 0 {
			cut++
		}
		biggest = max(biggest, len(r.Value))
	}
	inTopic := b.TopicRecords(t, "alerts.undelivered")
	t.Logf("%d undelivered records landed (largest value %d bytes), %d of them cut; alerts committed to %d",
		inTopic, biggest, cut, committed())
	if len(got) != n || inTopic != n || cut > 0 {
		t.Errorf("%d of %d undelivered records landed (%d read), %d of them with their alert's context cut, though each record alone is within the topic's max.message.bytes", inTopic, n, len(got), cut)
	}
	if !allCommitted {
		t.Errorf("alerts committed to %d of %d after 90s", committed(), n)
	}
}
