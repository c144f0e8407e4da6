package live_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestWindowedHandoffRestartOwesTheCrossingAtStart: a windowed version's hand-off is
// pending (its job held) when the daemon stops; the event at the version's start
// offset, buffered, crosses the threshold. The next daemon replays history up to its
// resume offset and owes the crossings from start: the one at start itself is live's
// alert, sent, not history left unsent (the history's own crossing is not sent).
func TestWindowedHandoffRestartOwesTheCrossingAtStart(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	// A group of its own (the job hook is per group), also under go test -count=N.
	state, group := "file://"+dir, "handoff-restart-start-"+filepath.Base(dir)
	_, restore := holdJobs(group) // never released: the first daemon's job ends with it
	cfg := func(c *live.Config) {
		c.Group, c.StateURL = group, state
		c.NoBackfill = false
		c.SnapshotInterval = 100 * time.Millisecond
	}
	first, stop := livetest.StartLive(t, b, cfg)
	b.Produce(t, ev("c-old", `{"kind":"fail","user":"old"}`), ev("c-old", `{"kind":"fail","user":"old"}`))
	waitSeen(t, first, 2)
	r := livetest.ParseRule(t, `{"id":"w","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"group_by":["$.user"],"window":{"size":"1h"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, first, r.Key(), 1)
	// The rule is active (d.active stored) before each partition adopts it
	// (rules.go: reconcile after d.active.Store): wait for partition 0's start.
	var starts map[int32]int64
	poll.Until(t, wait, "partition 0's start offset of the rule", func() bool {
		starts = first.StartOffsets(r.Key())
		_, ok := starts[0]
		return ok
	})
	if starts[0] != 2 {
		t.Fatalf("start offsets %v, want partition 0 at 2", starts)
	}
	b.Produce(t, ev("c-new", `{"kind":"fail","user":"new"}`)) // offset 2, the version's start: buffered
	waitSeen(t, first, 3)
	stop() // the shutdown snapshot keeps the version pending, start 2, resume offset 3
	<-first.Done()
	restore()

	second, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, 60*time.Second, "the rule live (hand-off done)", func() bool {
		vs := second.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})
	b.Produce(t, ev("c-late", `{"kind":"fail","user":"late"}`)) // offset 3, live
	var got []string
	for _, a := range livetest.Alerts(t, b.Consume(t, "alerts", 2, wait)) {
		got = append(got, fmt.Sprintf("%s@%d:%s", a.Customer, a.Offset, a.Source))
	}
	slices.Sort(got)
	if want := []string{"c-late@3:live", "c-new@2:live"}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v (the crossing at the version's start is owed, history's is not sent)", got, want)
	}
}
