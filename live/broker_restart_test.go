package live_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrokerRestartMidStream: the broker (persisting its log) stops mid-stream and
// comes back on the same address; the daemon rides it out, a rule arrives afterwards,
// and every count equals a full replay of history.
func TestBrokerRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a broker restart (4 s): make test runs it")
	}
	t.Parallel() // own broker, lake and daemon: shares nothing, and spends its time waiting
	// The port stays held across the restart: no other process can take it meanwhile.
	opts := kafkatest.Options{Partitions: 3, DataDir: t.TempDir(), Port: kafkatest.ListenPort(t)}
	b, err := kafkatest.StartBroker(opts)
	if err != nil {
		t.Fatal(err)
	}
	// A cleanup, not a defer: it runs after the daemon's (registered later) has stopped
	// it, so the daemon does not spend its shutdown on a broker already gone.
	t.Cleanup(func() { b.Close() })

	// Half of them windowed and grouped: those published after the restart start
	// mid-stream and are handed their history, so their oracle, like the counts',
	// replays all of it.
	rules := workload.Rules(5, 12, workload.RulesConfig{Customers: 30, MaxThreshold: 30, WindowedPercent: 50})
	var history []*kgo.Record
	gen := workload.New(5, workload.Config{Customers: 30})
	produce := func(n int) { history = append(history, livetest.ProduceEvents(t, b, gen, n)...) }
	for _, r := range rules[:8] {
		b.Produce(t, livetest.Upsert(t, r))
	}
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 300 * time.Millisecond
		c.SnapshotInterval = 200 * time.Millisecond
		c.ShutdownTimeout = 5 * time.Second
	})
	produce(1500)
	waitCommitted(t, b, d, "before the restart")

	b.Close()
	// The daemon's clients see the broker gone (its /readyz pings the brokers through
	// the events consumer's client) before it comes back.
	poll.Until(t, 60*time.Second, "/readyz finding the broker unreachable", func() bool {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		return rd.Broker != "" && rd.Broker != "reachable"
	})
	if b, err = kafkatest.StartBroker(opts); err != nil {
		t.Fatalf("restarting the broker: %v", err)
	}
	for _, r := range rules[8:] {
		b.Produce(t, livetest.Upsert(t, r))
	}
	produce(1500)
	waitCommitted(t, b, d, "after the restart")
	allLive := func() bool {
		for _, v := range d.Rules() {
			// A rule applied a moment ago is "live" until its partitions take it up
			// and start its hand-off: wait for its start offsets too (a CI run read
			// the counts of rules applied 1 ms before, all 0).
			if v.Status != contract.RuleLive || len(d.StartOffsets(v.Key())) != int(opts.Partitions) {
				return false
			}
		}
		return len(d.Rules()) == len(rules)
	}
	// The counts are read while every rule is live, before and after, and each count
	// says so: partitions lost after the restart (a group session that expired across
	// it) are restored from a snapshot and hand their rules off again, their counts not
	// final meanwhile.
	counts := map[rule.Key][]contract.CountView{}
	poll.Until(t, 60*time.Second, "every rule's counts read while it is live (backfills done)", func() bool {
		if !allLive() {
			return false
		}
		for _, r := range rules {
			got, ok := d.Counts(r.Key())
			if !ok {
				t.Fatalf("rule %s not active", r.Key())
			}
			for _, c := range got {
				if c.Status != contract.RuleLive {
					return false
				}
			}
			counts[r.Key()] = got
		}
		return allLive()
	})
	var counted int64
	windows := 0
	for _, r := range rules {
		if !r.Plain() {
			_, open, err := livetest.WindowReplay(history, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := counts[r.Key()]
			windows += livetest.CheckOpenWindows(t, "rule "+r.Key().String(), livetest.OpenWindows(got), open)
			continue
		}
		want := livetest.FullReplay(history, r)
		have := map[string]int64{}
		for _, c := range counts[r.Key()] {
			have[c.Customer] = c.Count
		}
		for c, n := range want {
			counted += n
			if have[c] != n {
				t.Errorf("rule %s, customer %s: count %d, full replay %d", r.Key(), c, have[c], n)
			}
		}
		if len(have) != len(want) {
			t.Errorf("rule %s: %d customers counted, full replay %d", r.Key(), len(have), len(want))
		}
	}
	if t.Failed() {
		// Which of a hand-off behind, a history job that read short, or partitions
		// restored after the poll (a rebalance: their hand-offs pending again) it was.
		for _, v := range d.Rules() {
			t.Logf("rule %s/%s: status %s, start offsets %v, backfill %+v, incomplete %v", v.Scope, v.ID, v.Status, v.StartOffsets, v.Backfill, v.Incomplete)
		}
		for _, p := range d.State().Partitions {
			t.Logf("partition %d: next offset %d, backfills pending %d, restored from %+v", p.Partition, p.NextOffset, p.Backfills, p.Restored)
		}
	}
	if counted == 0 || windows == 0 {
		t.Fatalf("the replay counts nothing (%d) or keeps no window (%d): the test shows nothing", counted, windows)
	}
	t.Logf("%d events across a broker restart, %d rules; replay counts %d, open windows %d", len(history), len(rules), counted, windows)
}

// waitCommitted waits until the daemon's group has committed the end of every events
// partition.
func waitCommitted(t *testing.T, b *kafkatest.Broker, d *live.Daemon, when string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	group := ""
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last: %s", last)
		}
	}()
	poll.Until(t, 60*time.Second, "the group to commit every event "+when, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if group == "" {
			groups, err := adm.ListGroups(ctx)
			if err != nil || len(groups.Groups()) == 0 {
				return false
			}
			for _, g := range groups.Groups() {
				if g != "hindsight-archiver" && g != notify.DefaultGroup {
					group = g
				}
			}
		}
		ends, err := adm.ListEndOffsets(ctx, "events")
		if err != nil {
			last = err.Error()
			return false
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			last = err.Error()
			return false
		}
		ok := true
		ends.Each(func(o kadm.ListedOffset) {
			if c, found := committed.Lookup("events", o.Partition); !found || c.At < o.Offset {
				ok = false
				last = fmt.Sprintf("partition %d committed %d of %d", o.Partition, c.At, o.Offset)
			}
		})
		return ok
	})
}
