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
	t.Logf("%d undelivered records landed (largest value %d bytes), %d of them cut; alerts committed to %d",
		len(got), biggest, cut, b.GroupCommitted(t, "notify-undelivered-batch", "alerts"))
	if len(got) != n || cut > 0 {
		t.Errorf("%d of %d undelivered records landed in 20s, %d of them with their alert's context cut, though each record alone is within the topic's max.message.bytes", len(got), n, cut)
	}
	poll.Until(t, 10*time.Second, "every alerts offset committed", func() bool {
		return b.GroupCommitted(t, "notify-undelivered-batch", "alerts") == n
	})
}
