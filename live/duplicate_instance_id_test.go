package live_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDuplicateInstanceIDIsVisible: two live daemons are started, by mistake, with one
// --instance-id in one group. The broker fences the first when the second joins with
// its id; from then on every join of the first is refused (FENCED_INSTANCE_ID). That
// is a configuration error no retry repairs: the fenced daemon ran on owning nothing,
// its logs saying "group session expired", its /readyz blaming a rebalance. It stops
// with an error naming the instance id and the flag.
func TestDuplicateInstanceIDIsVisible(t *testing.T) {
	seeds := []uint64{1, 2}
	if testing.Short() {
		seeds = seeds[:1] // make test runs both
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { duplicateInstanceID(t, seed) })
	}
}

func duplicateInstanceID(t *testing.T, seed uint64) {
	const partitions, customers = 3, 5
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions, MinSessionTimeout: 500 * time.Millisecond})
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"ok","scope":"*","when":{"path":"$.type","op":"==","value":"login.succeeded"},"threshold":20}`)))
	lake := "file://" + t.TempDir()
	group := livetest.Group(t)
	cfg := func(c *live.Config) {
		c.Group, c.LakeURL = group, lake
		c.InstanceID = "dup"
		c.ShutdownTimeout = 5 * time.Second
		c.SnapshotInterval = 200 * time.Millisecond
		c.SessionTimeout = time.Second
	}
	// The first is started by hand: livetest.StartLive fails a test whose daemon stops
	// with an error, which is what this one must do.
	first := livetest.Config(t, b)
	first.StateURL = "file://" + t.TempDir()
	cfg(&first)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := live.Start(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-d.Done() }()
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	poll.Until(t, wait, "the first member to own every partition", func() bool { return len(d.Partitions()) == partitions })
	livetest.ProduceEvents(t, b, gen, 100)
	poll.Until(t, wait, "the first member to handle events", func() bool { return d.EventsSeen() > 0 })
	second, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, wait, "the second member (same instance id) to take every partition", func() bool {
		return len(second.Partitions()) == partitions
	})
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the member fenced by another with --instance-id dup runs on 30 s later, owning %v", d.Partitions())
	}
	// Its events consumer or its notify stage's (instance id dup-notify), whichever
	// the broker fenced first.
	if err := d.Wait(); !errors.Is(err, kerr.FencedInstanceID) || !strings.Contains(err.Error(), `instance id "dup`) || !strings.Contains(err.Error(), "--instance-id") {
		t.Errorf("the fenced member stopped with %v, want FENCED_INSTANCE_ID naming its instance id and --instance-id", err)
	}
	// The fenced one left at once: had it rejoined with the shared id on its way out, it
	// would have fenced the second in turn (which then stops with an error: StartLive's
	// cleanup fails the test).
	before := second.EventsSeen()
	livetest.ProduceEvents(t, b, gen, 30)
	poll.Until(t, wait, "the second member to go on handling events", func() bool { return second.EventsSeen() > before })
	if len(second.Partitions()) != partitions {
		t.Errorf("the second member owns %v after the first stopped, want every partition", second.Partitions())
	}
}
