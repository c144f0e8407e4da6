package baseline_test

import (
	"bytes"
	"context"
	"maps"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// Each partition's frame decodes back to its values as JSON lines, in order.
func TestZstdJSONLinesRoundTrip(t *testing.T) {
	gen := workload.New(5, workload.Config{})
	parts := make([][][]byte, 3)
	var raw int
	for i := range 3000 {
		ev := gen.Next()
		parts[i%3] = append(parts[i%3], ev.JSON)
		raw += len(ev.JSON)
	}
	parts = append(parts, nil) // an empty partition is an empty frame
	out := baseline.ZstdJSONLines(parts)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	stored := 0
	for p, frame := range out {
		got, err := dec.DecodeAll(frame, nil)
		if err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
		var want []byte
		for _, v := range parts[p] {
			want = append(append(want, v...), '\n')
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("partition %d decodes to %d bytes, want %d", p, len(got), len(want))
		}
		stored += len(frame)
	}
	if stored*3 > raw {
		t.Errorf("%d bytes of JSON stored in %d: zstd should shrink audit events several times", raw, stored)
	}
}

// The replay counts what the oracle counts: every event's matches, per customer,
// up to but excluding the end offsets.
func TestReplayKafkaMatchesOracle(t *testing.T) {
	broker := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	rules := workload.Rules(9, 20, workload.RulesConfig{Customers: 20, GlobalRules: 5})
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	cl := broker.Client(t, kgo.DefaultProduceTopic("events"))
	gen := workload.New(9, workload.Config{Customers: 20})
	var recs []*kgo.Record
	for range 3000 {
		ev := gen.Next()
		recs = append(recs, &kgo.Record{Key: []byte(ev.Customer), Value: ev.JSON})
	}
	recs = append(recs, &kgo.Record{Key: []byte("c-0001"), Value: []byte(`{"type":`)}) // invalid: counts nowhere
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// End one record short of each partition's last: those must not count.
	end := map[int32]int64{}
	for _, r := range recs {
		end[r.Partition] = max(end[r.Partition], r.Offset)
	}
	want := map[string]int64{}
	m, doc := set.NewMatcher(), jsonpath.NewDocument()
	for _, r := range recs {
		if r.Offset < end[r.Partition] && doc.Reset(r.Value) == nil {
			if n := len(m.Match(string(r.Key), doc, nil)); n > 0 {
				want[string(r.Key)] += int64(n)
			}
		}
	}
	got, err := baseline.ReplayKafka(context.Background(), []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, "events", end, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Fatalf("replay %v, oracle %v", got, want)
	}
}
