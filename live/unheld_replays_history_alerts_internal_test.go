package live

import (
	"testing"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUnheldReplayOfAVersionThatAlertsHistory: a version ended where a snapshot at
// offset start did not name it may have been adopted after the snapshot by a killed
// process; with backfill: {alert: true} its hand-off sent the firings of its history
// too, from the log's start. So the replay owed resolves from offset 0, and is owed
// even when the log ends at the snapshot's offset (nothing evaluated after it): the
// firings were history's. A version that holds its history's alerts back sent none
// below start, and there owes no replay.
func TestUnheldReplayOfAVersionThatAlertsHistory(t *testing.T) {
	t.Parallel()
	version := func(id, backfill string) *controls.Version {
		r, err := rule.ParseRule([]byte(`{"id":"` + id + `","scope":"*","when":{"path":"$.type"},
		  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true}` + backfill + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return &controls.Version{Rule: r, Key: r.Key(), Fingerprint: controls.Fingerprint(r), Seq: 1}
	}
	alerting := version("alerting", `,"backfill":{"alert":true}`)
	quiet := version("quiet", "")
	d := &Daemon{bf: &backfiller{}}
	const start = 100
	got := d.unheldReplays([]*controls.Version{alerting, quiet}, start, start, true)
	if len(got) != 1 || got[0].ar != alerting || got[0].from != 0 || got[0].start != start || got[0].end != start {
		t.Fatalf("replays owed at a snapshot at the log's end (offset %d): %+v; want one, of the version alerting its history, from 0 to %d", start, got, start)
	}
	got = d.unheldReplays([]*controls.Version{alerting, quiet}, start, start+5, true)
	if len(got) != 2 || got[0].from != 0 || got[1].ar != quiet || got[1].from != start {
		t.Fatalf("replays owed up to offset %d: %+v; want the version alerting its history from 0, the other from %d", start+5, got, start)
	}
}
