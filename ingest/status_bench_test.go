package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// BenchmarkWaitStatuses is one `rules apply --wait` (or console save) against a
// control-status topic holding the statuses of 50,000 earlier controls (the topic is
// kept by retention, not compacted: a week of every daemon's statuses): take the mark,
// a daemon reports the control's status, wait for it. "from the start" is the same wait
// with no mark, reading the whole topic, as every wait did before; the ratio of the two
// is what reading from the mark saves.
func BenchmarkWaitStatuses(b *testing.B) {
	br := kafkatest.Start(b, kafkatest.Options{Partitions: 1})
	kc := KafkaConfig{Brokers: []string{br.Addr}}
	var topics Topics
	topics.EnsureDefaults()
	cl := br.Client(b, kgo.ProducerLinger(5*time.Millisecond))
	ctx := context.Background()
	status := func(key string, off int64) *kgo.Record {
		v, err := json.Marshal(contract.ControlStatus{Key: key, Offset: off, Status: contract.ControlOK, Op: "upsert", Scope: "*", ID: key[2:], Version: 1, Time: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		return &kgo.Record{Topic: topics.ControlStatus, Key: []byte(key), Value: v}
	}
	const earlier = 50_000
	recs := make([]*kgo.Record, 0, earlier)
	for i := range earlier {
		recs = append(recs, status(fmt.Sprintf("*/rule-%d", i%500), int64(i)))
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	next := int64(earlier)
	for _, tc := range []struct {
		name   string
		marked bool
	}{{"from the mark", true}, {"from the start", false}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				mark := StatusMark{}
				if tc.marked {
					var err error
					if mark, err = MarkStatuses(ctx, kc, topics); err != nil {
						b.Fatal(err)
					}
				}
				next++
				if err := cl.ProduceSync(ctx, status("*/applied", next)).FirstErr(); err != nil {
					b.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				got, err := WaitStatuses(wctx, kc, topics, mark, map[string]int64{"*/applied": next})
				cancel()
				if err != nil || got["*/applied"].Offset != next {
					b.Fatalf("the status of the control at %d: %+v, %v", next, got, err)
				}
			}
		})
	}
}
