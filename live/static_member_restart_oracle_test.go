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

// TestStaticMemberRestartMatchesOracle: two static members (--instance-id a and b)
// share a group; one is restarted with its id, so it takes its partitions back without
// a rebalance, while events keep arriving and a rule (windowed, its history handed
// over) is published while it is down. At the end the members' counts and open
// windows must equal a full replay and the alerts topic hold each of the replay's
// alerts once.
func TestStaticMemberRestartMatchesOracle(t *testing.T) {
	// Parallel as its seeds are: without it the seeds, which only wait, held up every
	// serial test after them (10 s of -short's serial phase over these four tests).
	t.Parallel()
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1] // make test runs them all
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			parallelSeeds(t, len(seeds)) // own broker, lake and group; waits on rebalances, not the CPU
			staticRestartOracle(t, seed)
		})
	}
}

func staticRestartOracle(t *testing.T, seed uint64) {
	const partitions, customers = 4, 6
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions, MinSessionTimeout: 500 * time.Millisecond})
	rules := churnRules(t)
	late := livetest.ParseRule(t, `{"id":"late","scope":"*","when":{"path":"$.type","op":"==","value":"login.succeeded"},
			"group_by":["$.client.app"],"window":{"size":"2m"},"time":"$.time","threshold":3}`)
	for _, r := range rules {
		b.Produce(t, livetest.Upsert(t, r))
	}
	g := newChurnGroup(t, b)
	start := func(id string) (*live.Daemon, func()) {
		m := g.join(func(c *live.Config) {
			c.InstanceID = id
			c.SessionTimeout = 10 * time.Second
		})
		return m.d, m.stop
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	a, _ := start("a")
	bb, stopB := start("b")
	poll.Until(t, wait, "the partitions split", func() bool {
		return len(a.Partitions()) > 0 && len(bb.Partitions()) > 0 && len(a.Partitions())+len(bb.Partitions()) == partitions
	})
	var history []*kgo.Record
	before := a.EventsSeen() + bb.EventsSeen()
	history = append(history, livetest.ProduceEvents(t, b, gen, 100+rng.IntN(100))...)
	poll.Until(t, wait, "the members to handle events", func() bool { return a.EventsSeen()+bb.EventsSeen() > before })
	// A pause of the seed's length, not a wait: it varies, by seed, where in the
	// members' handling the second batch and b's stop fall.
	time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
	history = append(history, livetest.ProduceEvents(t, b, gen, 50+rng.IntN(50))...)
	stopB()
	<-bb.Done()
	if err := bb.Wait(); err != nil {
		t.Errorf("b stopping: %v", err)
	}
	aParts := len(a.Partitions())
	b.Produce(t, livetest.Upsert(t, late))
	rules = append(rules, late)
	history = append(history, livetest.ProduceEvents(t, b, gen, 80+rng.IntN(50))...)
	bb, _ = start("b")
	poll.Until(t, wait, "b to take its partitions back", func() bool { return len(bb.Partitions()) == partitions-aParts })
	if len(a.Partitions()) != aParts {
		t.Errorf("a owns %v after b's restart, had %d partitions", a.Partitions(), aParts)
	}
	history = append(history, livetest.ProduceEvents(t, b, gen, 60)...)
	members := []*live.Daemon{a, bb}
	waitCommitted(t, b, a, "after the restart")
	poll.Until(t, 60*time.Second, "every rule live on both", func() bool {
		for _, m := range members {
			if len(m.Rules()) != len(rules) {
				return false
			}
			for _, v := range m.Rules() {
				if v.Status != contract.RuleLive {
					return false
				}
			}
		}
		return true
	})
	wantAlerts := map[string]bool{}
	for _, r := range rules {
		if !r.Plain() {
			_, open, err := livetest.WindowReplay(history, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r != late {
				ids, err := livetest.WindowStatusReplay(history, r)
				if err != nil {
					t.Fatal(err)
				}
				for id := range ids {
					wantAlerts[id] = true
				}
			}
			var all []contract.CountView
			for _, m := range members {
				got, _ := m.Counts(r.Key())
				all = append(all, got...)
			}
			livetest.CheckOpenWindows(t, "rule "+r.Key().String(), livetest.OpenWindows(all), open)
			continue
		}
		want := livetest.FullReplay(history, r)
		have := map[string]int64{}
		for _, m := range members {
			got, _ := m.Counts(r.Key())
			for _, c := range got {
				have[c.Customer] += c.Count
			}
		}
		for c, n := range want {
			if have[c] != n {
				t.Errorf("rule %s, customer %s: members' counts sum to %d, full replay %d", r.Key(), c, have[c], n)
			}
			if n >= r.Threshold.Count() {
				wantAlerts[contract.AlertID(r.Scope, r.ID, r.Version, c, r.Threshold.Count())+" "+contract.StatusFiring] = true
			}
		}
	}
	got := alertsOnTopic(t, b)
	for id, k := range got {
		if !wantAlerts[id] {
			continue // the late rule's handed-over alerts: backfill.alert is off, its own test
		}
		if k > 1 {
			t.Errorf("alert %s: on the alerts topic %d times", id, k)
		}
	}
	for id := range wantAlerts {
		if got[id] == 0 {
			t.Errorf("alert %s: in the replay, not on the alerts topic", id)
		}
	}
	t.Logf("%d events, %d alerts", len(history), len(wantAlerts))
}
