package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// readyzProbes is how many times the tests below probe /readyz while one condition
// lasts: a load balancer's probes, which must not each count the limit reached.
const readyzProbes = 20

// TestReadyzCountsProduceStallOnce: the alerts topic refuses every write, so a record
// waits past --max-produce-stall and /readyz fails. Probed many times while that lasts,
// max_produce_stall_seconds is reached once (the stall), not once per probe.
func TestReadyzCountsProduceStallOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out --max-produce-stall: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// Its stop's snapshot waits for the undelivered alert in vain: ErrFinalSnapshot.
	d, _ := livetest.StartLiveStoppingWith(t, b, func(c *live.Config) {
		c.MaxProduceStall = time.Second
		c.ShutdownTimeout = time.Second
	}, live.ErrFinalSnapshot)
	b.FailProduces(t, "alerts", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"x","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)))
	poll.Until(t, 30*time.Second, "the rule applied", func() bool { return len(d.Rules()) == 1 })
	b.Produce(t, livetest.Event("c1", `{"type":"x"}`))
	poll.Until(t, 30*time.Second, "/readyz failing for the produce stall", func() bool {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		return !rd.Ready && strings.Contains(strings.Join(rd.Reasons, "\n"), "--max-produce-stall")
	})
	for range readyzProbes {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		if rd.Ready {
			t.Fatalf("/readyz ready again while the alerts topic refuses every write")
		}
	}
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	if got, want := metricLine(metrics, `hindsight_limit_reached_total{name="max_produce_stall_seconds"}`), `hindsight_limit_reached_total{name="max_produce_stall_seconds"} 1`; got != want {
		t.Errorf("after %d probes of one produce stall: %s, want %s", readyzProbes+1, got, want)
	}
}

// TestReadyzHeldPartitionIsNotSnapshotAge: a partition held because its snapshots were
// refused for their size (--max-snapshot-bytes, counted as the restore refused them)
// fails /readyz. Probing it neither counts max_snapshot_age_seconds, which did not hold
// it, nor anything else once per probe.
func TestReadyzHeldPartitionIsNotSnapshotAge(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := t.TempDir()
	group := livetest.Group(t)
	a, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval = group, "file://"+state, 100*time.Millisecond
	})
	// As TestHeldPartitionCountsAreNotFinal: snapshots over 600 bytes however they
	// are read.
	const customers, rounds = 30, 4
	var produced int64
	for range rounds {
		recs := make([]*kgo.Record, 0, customers) // one client a round, not one an event
		for i := range customers {
			recs = append(recs, livetest.Event(fmt.Sprintf("customer-with-a-rather-long-identifier-%03d-%s", i, strings.Repeat("x", 20)), `{"type":"login"}`))
			produced++
		}
		b.Produce(t, recs...)
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), func() bool {
			st := a.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == produced
		})
	}
	stop()
	<-a.Done()

	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, 600
	})
	readyz := "http://" + second.HTTPAddr() + "/readyz"
	var rd contract.Readiness
	poll.Until(t, 20*time.Second, "the partition held", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || !strings.HasPrefix(st.Partitions[0].LastError, "restore refused for size") {
			return false
		}
		livetest.GetJSON(t, readyz, &rd)
		return !rd.Ready
	})
	t.Logf("/readyz: %v", rd.Reasons)
	before := livetest.GetText(t, "http://"+second.HTTPAddr()+"/metrics")
	for range readyzProbes {
		var rd contract.Readiness
		livetest.GetJSON(t, readyz, &rd)
		if rd.Ready {
			t.Fatalf("/readyz ready while the partition is held")
		}
	}
	after := livetest.GetText(t, "http://"+second.HTTPAddr()+"/metrics")
	if got, want := metricLine(after, `hindsight_limit_reached_total{name="max_snapshot_age_seconds"}`), `hindsight_limit_reached_total{name="max_snapshot_age_seconds"} 0`; got != want {
		t.Errorf("after %d probes of a held partition: %s, want %s (the snapshot age held nothing)", readyzProbes+1, got, want)
	}
	for _, name := range []string{"max_snapshot_bytes", "max_consumer_stall_seconds", "max_produce_stall_seconds"} {
		line := `hindsight_limit_reached_total{name="` + name + `"}`
		if b, a := metricLine(before, line), metricLine(after, line); b != a {
			t.Errorf("%d probes of a held partition moved %s to %s", readyzProbes, b, a)
		}
	}
}
