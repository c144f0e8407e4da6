package live_test

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestNonUTF8ScopeIsRejectedNotLooped: a destination whose scope is not valid UTF-8
// was accepted; after a control not applied under its key the daemon wrote its keeper,
// which JSON wrote with U+FFFD for the bad byte, so the keeper was refused (key
// mismatch) and itself followed by a keeper, without end: 6,093 records in 3 s (found
// by a review helper). Such a scope is refused now, and nothing follows.
func TestNonUTF8ScopeIsRejectedNotLooped(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, stop := livetest.StartLive(t, b, nil)
	const key = "destination:c-\xff/pager"
	rec := func(value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	b.Produce(t, rec("{\"op\":\"upsert\",\"destination\":{\"scope\":\"c-\xff\",\"name\":\"pager\",\"type\":\"webhook\",\"url\":\"https://hooks.example.com/h\"}}"),
		rec(`not json`))
	statuses := b.Consume(t, "controls.status", 2, wait) // their keepers' may come with them
	if len(statuses) < 2 {
		t.Fatalf("%d control statuses, want at least 2", len(statuses))
	}
	for _, s := range statuses {
		if v := string(s.Value); !strings.Contains(v, `"status":"invalid"`) {
			t.Errorf("status %s, want invalid", v)
		}
	}
	// Each refused control still gets a keeper (a delete, for a key that holds
	// nothing), which JSON cannot write under this key and is refused in its turn; but
	// a refused keeper gets none, so nothing more follows.
	// The two keepers folded (their statuses are out): a loop's next keeper is written
	// by that fold, and the stop flushes it.
	poll.Until(t, wait, "the statuses of the 2 refused and their keepers", func() bool { return b.TopicRecords(t, "controls.status") >= 4 })
	stop()
	<-d.Done()
	if n := b.TopicRecords(t, "controls"); n > 4 {
		t.Errorf("the controls topic holds %d records once the keepers of the 2 refused were refused, want at most 4", n)
	}
}
