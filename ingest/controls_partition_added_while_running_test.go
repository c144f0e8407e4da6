package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// that got a second partition while a reader ran was not noticed: the reader kept
// reading partition 0 alone (direct assignment, fixed at Run's start), PublishControls
// (rules apply, the console's save) wrote keyed controls to both partitions and
// reported them published, and the controls that landed on partition 1 were never
// applied, with no error from the reader. A rule saved then was silently not in force
// while the daemon stayed ready; the next start refused the topic. PublishControls now
// refuses such a topic, and the reader refuses it once a partition is added, controls
// another writer put there with it.
func TestControlsPartitionAddedWhileRunningIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the reader's 5 s partition check: make test runs it")
	}
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
	// PublishControls refuses the topic now of 2 partitions, naming it, and writes
	// nothing.
	if _, err := PublishControls(ctx, KafkaConfig{Brokers: []string{b.Addr}}, topics, cs); !errors.Is(err, ErrControlsPartitions) || !strings.Contains(err.Error(), "controls has 2") {
		t.Fatalf("publishing to a controls topic of 2 partitions: PublishControls returned %v, want ErrControlsPartitions naming the topic and its 2 partitions", err)
	}
	adm := kadm.NewClient(b.Client(t))
	ends, err := adm.ListEndOffsets(ctx, "controls")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("PublishControls refused the topic but partition %d ends at %d", o.Partition, o.Offset)
		}
	})

	// Another writer (kcat, an older Hindsight) writes keyed controls to the added
	// partition, where the reader, which read partition 0 alone, would never see them.
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	onOne := map[string]bool{}
	for _, c := range cs {
		val, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := pcl.ProduceSync(ctx, &kgo.Record{Topic: "controls", Partition: 1, Key: []byte(c.RecordKey()), Value: val}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		onOne[c.RecordKey()] = true
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
			t.Fatalf("a partition was added to the controls topic while the reader ran and %d controls were written to it; 15s on the reader has not applied %d of them and returned no error: rules published are silently not in force",
				len(onOne), missing)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
