package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestControlsPartitionAddedWhileRunningIsRefused: a controls topic of more than one
// partition is refused at start (TestControlsTopicOfManyPartitionsIsRefused), but one
// that gets a second partition while a reader runs is not noticed: the reader keeps
// reading partition 0 alone (direct assignment, fixed at Run's start), PublishControls
// (rules apply, the console's save) writes keyed controls to both partitions and
// reports them published, and the controls that landed on partition 1 are never
// applied, with no error from the reader. A rule saved then is silently not in force
// while the daemon stays ready; the next start refuses the topic.
func TestControlsPartitionAddedWhileRunningIsRefused(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	r := testControlReader(t, b, nil)
	var mu sync.Mutex
	applied := map[string]bool{}
	caught := make(chan struct{})
	runErr := make(chan error, 1)
	go func() {
		runErr <- r.Run(ctx, func(recs []controls.Record) {
			mu.Lock()
			defer mu.Unlock()
			for _, rec := range recs {
				applied[rec.Key] = true
			}
		}, func() { close(caught) })
	}()
	select {
	case <-caught:
	case err := <-runErr:
		t.Fatalf("the reader of a 1-partition controls topic ended before catching up: %v", err)
	case <-ctx.Done():
		t.Fatal("the reader of an empty 1-partition controls topic did not catch up in 60s")
	}

	if _, err := kadm.NewClient(b.Client(t)).CreatePartitions(ctx, 1, "controls"); err != nil {
		t.Fatal(err)
	}
	var topics Topics
	topics.EnsureDefaults()
	var cs []*rule.Control
	for i := range 16 {
		ru := &rule.Rule{ID: fmt.Sprintf("r%d", i), Scope: rule.GlobalScope, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.type"}}
		if err := ru.Validate(); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, rule.Upsert(ru))
	}
	_, pubErr := PublishControls(ctx, KafkaConfig{Brokers: []string{b.Addr}}, topics, cs)

	// Where did they land? Read the topic back by partition.
	cl := b.Client(t, kgo.ConsumeTopics("controls"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	onOne := map[string]bool{}
	total := 0
	for total < len(cs) && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(rec *kgo.Record) {
			total++
			if rec.Partition == 1 {
				onOne[string(rec.Key)] = true
			}
		})
	}
	if pubErr != nil {
		t.Logf("PublishControls refused: %v", pubErr)
	}
	if len(onOne) == 0 {
		t.Skip("no control landed on the added partition; nothing to show")
	}

	// Bounded wait: the reader either refuses the topic now of 2 partitions (an error
	// from Run) or applies every control; it must not go on silently without them.
	deadline := time.After(15 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for k := range onOne {
			if !applied[k] {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case err := <-runErr:
			if !errors.Is(err, ErrControlsPartitions) {
				t.Fatalf("the reader ended with %v, want ErrControlsPartitions", err)
			}
			return
		case <-deadline:
			t.Fatalf("a partition was added to the controls topic while the reader ran: PublishControls returned %v and %d of %d controls landed on partition 1; 15s on the reader has applied none of those %d (missing %d) and returned no error: rules published are silently not in force",
				pubErr, len(onOne), len(cs), len(onOne), missing)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
