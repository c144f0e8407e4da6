package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/rule"
)

// applyingDaemon runs a control reader that applies and reports every control, as live
// does, until stop is called or the test ends.
func applyingDaemon(t *testing.T, kc KafkaConfig, topics Topics) (stop func()) {
	t.Helper()
	rd, err := NewControlReader(ControlsConfig{Kafka: kc, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	g := controls.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- rd.Run(ctx, func(recs []controls.Record) {
			for _, rec := range recs {
				st, msg := g.Apply(rec)
				rd.Report(rec.Status(st, msg, time.Now()))
			}
		}, func() {})
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; rd.Close() }) }
	t.Cleanup(stop)
	return stop
}

// TestWaitStatusesAfterTheMark: the control-status topic changes between the mark and
// the daemon's status of the control published after it. Each time WaitStatuses must
// return the status (found by a review helper; reading from the mark lost the second,
// reading from the topic's start with a filter lost the first):
//   - "made again": the topic held 5 statuses at the mark ({0: 5}) and is deleted and
//     made again (an operator clearing old statuses): the status is the new log's
//     offset 0, below the mark;
//   - "a partition added": the topic gets a second partition, and the control's key
//     puts its status there, a partition the mark does not name.
func TestWaitStatusesAfterTheMark(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, b *kafkatest.Broker, topics Topics)
		// keyPartition: the control's key must land in this partition of 2 (-1: any).
		keyPartition int32
	}{
		{"made again", func(t *testing.T, b *kafkatest.Broker, topics Topics) {
			b.RecreateTopic(t, topics.ControlStatus, 1)
		}, -1},
		{"a partition added", func(t *testing.T, b *kafkatest.Broker, topics Topics) {
			if _, err := kadm.NewClient(b.Client(t)).CreatePartitions(context.Background(), 2, topics.ControlStatus); err != nil {
				t.Fatal(err)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			kc := KafkaConfig{Brokers: []string{b.Addr}}
			var topics Topics
			topics.EnsureDefaults()
			for i := range 5 { // earlier statuses
				b.Produce(t, &kgo.Record{Topic: topics.ControlStatus, Key: []byte("*/old"), Value: fmt.Appendf(nil, `{"key":"*/old","offset":%d}`, i)})
			}
			id := "a"
			if tc.keyPartition >= 0 { // a rule whose key the default partitioner puts there
				part := kgo.StickyKeyPartitioner(nil).ForTopic(topics.ControlStatus)
				for i := 0; ; i++ {
					id = fmt.Sprintf("r%d", i)
					if part.Partition(&kgo.Record{Key: []byte("*/" + id)}, 2) == int(tc.keyPartition) {
						break
					}
				}
			}
			r, err := rule.ParseRule(fmt.Appendf(nil, `{"id":%q,"scope":"*","threshold":1,"when":{"path":"$.x"}}`, id))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			mark, err := MarkStatuses(ctx, kc, topics)
			if err != nil {
				t.Fatal(err)
			}
			offs, err := PublishControls(ctx, kc, topics, []*rule.Control{rule.Upsert(r)})
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t, b, topics)
			applyingDaemon(t, kc, topics)
			key := rule.Upsert(r).RecordKey()
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			got, err := WaitStatuses(wctx, kc, topics, mark, map[string]int64{key: offs[0]})
			if st, ok := got[key]; !ok || st.Status != contract.ControlOK {
				t.Fatalf("mark %+v; the status topic holds %d record(s) after the change, the daemon's status of %s at offset %d among them; WaitStatuses: %+v, %v (want ok)",
					mark, b.TopicRecords(t, topics.ControlStatus), key, offs[0], got, err)
			}
		})
	}
}
