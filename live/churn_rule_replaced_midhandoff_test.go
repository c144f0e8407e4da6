package live_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestChurnRuleReplacedMidHandoff: a windowed rule with backfill.alert on (and
// resolves) is published while members join and leave cleanly, and replaced by a
// version 2 (another threshold) one step later, while the first version's hand-off may
// still run on partitions that move. Version 2's open windows must equal a full
// replay, every firing of its replay be on the alerts topic, no alert (firing or
// resolve, of either version) more than once, and every member run version 2 only.
func TestChurnRuleReplacedMidHandoff(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if testing.Short() {
		seeds = seeds[:1] // make test runs them all
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { churnReplaced(t, seed) })
	}
}

func churnReplaced(t *testing.T, seed uint64) {
	const partitions, customers = 4, 6
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions})
	lake := "file://" + t.TempDir()
	group := livetest.Group(t)
	join := func() churnMember {
		d, stop := livetest.StartLive(t, b, func(c *live.Config) {
			c.Group, c.LakeURL = group, lake
			c.ShutdownTimeout = 5 * time.Second
			c.NoBackfill, c.NoArchive = false, false
			c.ArchiveRollAge = 300 * time.Millisecond
			c.SnapshotInterval = 200 * time.Millisecond
		})
		return churnMember{d, stop}
	}
	leave := func(m churnMember) {
		m.stop()
		<-m.d.Done()
		if err := m.d.Wait(); err != nil {
			t.Errorf("a leaving member: %v", err)
		}
	}
	first := livetest.ParseRule(t, `{"id":"geo","scope":"*","when":{"path":"$.type","op":"in","value":["file.viewed","file.downloaded"]},
			"group_by":["$.actor.geo.country"],"window":{"size":"1m"},"time":"$.time","threshold":2,
			"backfill":{"alert":true},"alert":{"resolve":true}}`)
	late := livetest.ParseRule(t, `{"id":"geo","scope":"*","version":2,"when":{"path":"$.type","op":"in","value":["file.viewed","file.downloaded"]},
			"group_by":["$.actor.geo.country"],"window":{"size":"1m"},"time":"$.time","threshold":3,
			"backfill":{"alert":true},"alert":{"resolve":true}}`)
	rng := rand.New(rand.NewPCG(seed, 31))
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	var history []*kgo.Record
	members := []churnMember{join()}
	seen := func() (n int64) {
		for _, m := range members {
			n += m.d.EventsSeen()
		}
		return n
	}
	var plan []string
	for step := range 8 {
		if step == 3 {
			b.Produce(t, livetest.Upsert(t, first))
		}
		if step == 4 {
			b.Produce(t, livetest.Upsert(t, late))
		}
		before := seen()
		history = append(history, livetest.ProduceEvents(t, b, gen, 60+rng.IntN(60))...)
		poll.Until(t, wait, "the members to handle some of the batch", func() bool { return seen() > before })
		if len(members) < 3 && (len(members) == 1 || rng.IntN(2) == 0) {
			members = append(members, join())
			plan = append(plan, fmt.Sprintf("%d:join", step))
		} else {
			i := rng.IntN(len(members))
			leave(members[i])
			members = append(members[:i:i], members[i+1:]...)
			plan = append(plan, fmt.Sprintf("%d:leave", step))
		}
	}
	history = append(history, livetest.ProduceEvents(t, b, gen, 50)...)
	t.Logf("plan %v, %d events", plan, len(history))
	poll.Until(t, wait, "every partition owned", func() bool {
		n := 0
		for _, m := range members {
			n += len(m.d.Partitions())
		}
		return n == partitions
	})
	waitCommitted(t, b, members[0].d, "after the churn")
	poll.Until(t, 60*time.Second, "the rule live on every member", func() bool {
		for _, m := range members {
			v := m.d.Rules()
			if len(v) != 1 || v[0].Status != contract.RuleLive || v[0].Version != late.Version {
				return false
			}
		}
		return true
	})
	_, open, err := livetest.WindowReplay(history, late, nil)
	if err != nil {
		t.Fatal(err)
	}
	firings, err := livetest.WindowHandoffFirings(history, late, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []contract.CountView
	for _, m := range members {
		got, _ := m.d.Counts(late.Key())
		all = append(all, got...)
	}
	livetest.CheckOpenWindows(t, "rule geo", livetest.OpenWindows(all), open)
	time.Sleep(500 * time.Millisecond)
	n := b.TopicRecords(t, "alerts")
	got := map[string]int{}
	for _, al := range livetest.Alerts(t, b.Consume(t, "alerts", int(n), wait)) {
		got[al.AlertID+" "+al.Status]++
	}
	for id, k := range got {
		if k > 1 {
			t.Errorf("alert %s: on the alerts topic %d times", id, k)
		}
	}
	for id := range firings {
		if got[id] == 0 && got[id+" "+contract.StatusFiring] == 0 {
			t.Errorf("firing %s: in the replay, not on the alerts topic", id)
		}
	}
	t.Logf("%d firings in the replay, %d records", len(firings), n)
}
