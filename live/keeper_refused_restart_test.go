package live_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRefusedKeeperLeftNewestFindsRoomAfterCompaction: a daemon ran with --max-rules
// 2 and wrote the Keeper of rule */b; restarted with --max-rules 1 it refuses that
// Keeper at the limit, and must answer it (with that upsert, marked as refused at
// max_rules 1, which a fold under that limit refuses whatever room there is): left
// the newest record of */b, once */a is deleted and compaction removes a's upsert, a
// restart's fold of the same topic under the same limit found room for */b and ran a
// rule the running daemon did not have (found by a review helper, of a change that
// stopped answering refused Keepers; chains of Keepers now end at
// controls.MaxKeeperDepth instead). Not parallel: it sets the process's rule limits.
func TestRefusedKeeperLeftNewestFindsRoomAfterCompaction(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	setMax := func(n int) { setRuleLimits(t, func(l *rule.Limits) { l.MaxRules = n }) }
	b := compactedControls(t)
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	up := func(id string) *kgo.Record {
		return rec("*/"+id, fmt.Sprintf(`{"op":"upsert","rule":{"id":%q,"scope":"*","version":1,"threshold":100,"when":{"path":"$.x"}}}`, id))
	}
	filler, list := fillerDestination, ruleVersions

	// Run 1, --max-rules 2: a, b, then an invalid control of */b: its Keeper (b's upsert).
	setMax(2)
	for _, r := range []*kgo.Record{up("a"), up("b"), rec("*/b", "not json")} {
		b.Produce(t, r)
	}
	d, stop := livetest.StartLive(t, b, nil)
	awaitRecords(t, b, "controls", 4, 10*time.Second)
	stop()
	<-d.Done()
	if n := b.TopicRecords(t, "controls"); n != 4 {
		t.Fatalf("controls topic holds %d records, want 4 (a, b, invalid, b's Keeper)", n)
	}
	b.Produce(t, filler(1))
	b.Cluster.Compact() // */b: its Keeper alone

	// Run 2, --max-rules 1: the Keeper of */b is refused at the limit. Then */a deleted.
	setMax(1)
	d, stop = livetest.StartLive(t, b, nil)
	poll.Until(t, 10*time.Second, "rules loaded", func() bool { return len(d.RuleList().Rules) == 1 })
	b.Produce(t, rec("*/a", `{"op":"delete","scope":"*","id":"a"}`))
	b.Produce(t, filler(2))
	poll.Until(t, 10*time.Second, "*/a deleted", func() bool { return len(d.RuleList().Rules) == 0 })
	// The fold of the last control writes its Keepers, if any; the stop flushes them.
	poll.Until(t, 10*time.Second, "filler 2 folded", func() bool { return len(d.Registry().Destinations()) == 2 })
	running := list(d.RuleList().Rules)
	stop()
	<-d.Done()
	b.Produce(t, filler(3))
	b.Cluster.Compact()

	// Run 3, --max-rules 1 still: the same topic, the same limit.
	d, stop = livetest.StartLive(t, b, nil)
	defer func() { stop(); <-d.Done() }()
	poll.Until(t, 10*time.Second, "destinations loaded", func() bool { return len(d.Registry().Destinations()) == 3 })
	if got := list(d.RuleList().Rules); !slices.Equal(got, running) {
		t.Errorf("after compaction a restart under --max-rules 1 runs %v; the running daemon ran %v", got, running)
	}
}
