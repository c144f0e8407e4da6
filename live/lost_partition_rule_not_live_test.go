package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// readDuringLossWithHandoffHeld loses a partition p while a rule's hand-off there is
// held: a rule applied after 30 logins of customer c (all in one partition, p), its
// hand-off in p held, then counting 5 more live. It returns what read, called from
// the drop itself (test hook SetDropHook) once p is marked lost and its job cancelled
// but before p leaves the owned partitions, read of d and the rule, and p. The loss
// is d.Lost, as the group's client calls it.
func readDuringLossWithHandoffHeld[T any](t *testing.T, read func(d *live.Daemon, r *rule.Rule) T) (T, int32) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	release := make(chan struct{})
	defer close(release)
	defer live.SetJobHook(livetest.Group(t), func(ctx context.Context) {
		select { // the hand-off held until the partition leaves
		case <-ctx.Done():
		case <-release:
		}
	})()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill = false
		c.BackfillCacheDir = t.TempDir()
	})
	logins := func(n int) []*kgo.Record {
		recs := make([]*kgo.Record, 0, n)
		for range n {
			recs = append(recs, livetest.Event("c", `{"type":"login"}`))
		}
		return recs
	}
	p := b.Produce(t, logins(30)...)[0].Partition
	poll.Until(t, 30*time.Second, "the 30 logins evaluated", func() bool { return d.EventsSeen() >= 30 })
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "the rule adopted by both partitions, its hand-off in the logins' held", func() bool {
		v := listedView(d, r)
		return len(v.StartOffsets) == 2 && len(v.Backfill) == 1 && v.Backfill[0].Partition == p
	})
	b.Produce(t, logins(5)...)
	poll.Until(t, 30*time.Second, "the 5 logins after the rule counted live", func() bool {
		n, _ := d.Count(r.Key(), "c")
		return n.Count == 5
	})

	reads := make(chan T, 1)
	defer live.SetDropHook(livetest.Group(t), func(pid int32) {
		if pid != p {
			return
		}
		select {
		case reads <- read(d, r):
		default:
		}
	})()
	d.Lost([]int32{p})
	select {
	case got := <-reads:
		return got, p
	default:
		t.Fatalf("the drop of partition %d read nothing", p)
		panic("unreachable")
	}
}

// listedView is d's view of rule r (zero when it has none).
func listedView(d *live.Daemon, r *rule.Rule) contract.RuleView {
	for _, v := range d.Rules() {
		if v.ID == r.ID {
			return v
		}
	}
	return contract.RuleView{}
}

// TestRuleNotLiveWithALostPartitionsHistoryUncounted: a partition lost (or revoked)
// has its pending hand-offs cancelled, its history left to its next owner, but it stays
// among the owned partitions until drop has handled every partition it was given. The
// rule of readDuringLossWithHandoffHeld was read in that moment as live, its count of
// c the 5 counted live: Rules and Count took the partition's start offset, kept with
// its job gone, for a history counted. Whatever a rule's view says of a partition
// leaving, it is live only when the counts it answers hold every listed partition's
// history.
func TestRuleNotLiveWithALostPartitionsHistoryUncounted(t *testing.T) {
	t.Parallel()
	type read struct {
		view  contract.RuleView
		count contract.CountView
	}
	got, p := readDuringLossWithHandoffHeld(t, func(d *live.Daemon, r *rule.Rule) read {
		n, _ := d.Count(r.Key(), "c")
		return read{listedView(d, r), n}
	})
	// The counts answer the partitions the view lists: c's 35 logins if p is among
	// them, none if it is not.
	held := int64(0)
	if _, ok := got.view.StartOffsets[p]; ok {
		held = 35
	}
	if (got.view.Status == contract.RuleLive || got.count.Status == contract.RuleLive) && got.count.Count != held {
		t.Errorf("partition %d lost, its hand-off cancelled: rule %s, count of c %d (%s), start offsets %v, backfill %+v; live with partitions listed that hold %d",
			p, got.view.Status, got.count.Count, got.count.Status, got.view.StartOffsets, got.view.Backfill, held)
	}
}

// TestConsoleCountsLeaveOutALostPartition: the console's counts are, per customer,
// what /v1/counts answers (consoleBackend.Counts). Read while partition p, lost, was
// still among the owned partitions, its hand-off cancelled, they summed p's counters
// (c's 5 logins counted live, its history not), which /v1/counts and the rule views
// leave out: the console showed c with a count no API gave, from a partition no
// longer this process's.
func TestConsoleCountsLeaveOutALostPartition(t *testing.T) {
	t.Parallel()
	type read struct {
		console contract.CountSummary
		count   contract.CountView
	}
	got, p := readDuringLossWithHandoffHeld(t, func(d *live.Daemon, r *rule.Rule) read {
		n, _ := d.Count(r.Key(), "c")
		return read{d.ConsoleBackend().Counts(10)[r.Key()], n}
	})
	var console int64
	for _, c := range got.console.Top {
		if c.Customer == "c" {
			console = c.Count
		}
	}
	if console != got.count.Count || got.console.Total != got.count.Count {
		t.Errorf("partition %d lost: the console counts c %d (total %d, top %+v), /v1/counts %d (%s); want the same count",
			p, console, got.console.Total, got.console.Top, got.count.Count, got.count.Status)
	}
}
