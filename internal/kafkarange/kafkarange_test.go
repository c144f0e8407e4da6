package kafkarange_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// produce writes n records to partition p of events, values "p/offset-order".
func produce(t *testing.T, b *kafkatest.Broker, p int32, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Partition: p, Value: fmt.Appendf(nil, "%d/%d", p, i)}
	}
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestReadDeliversExactlyTheRanges(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	produce(t, b, 0, 50)
	produce(t, b, 1, 50)
	produce(t, b, 2, 5)
	tests := []struct {
		name   string
		ranges map[int32]kafkarange.Range
		want   map[int32][2]int64 // first and last offset delivered
	}{
		{"one partition, middle", map[int32]kafkarange.Range{0: {From: 10, To: 19}}, map[int32][2]int64{0: {10, 19}}},
		{"two partitions, to the end", map[int32]kafkarange.Range{0: {From: 0, To: 49}, 1: {From: 45, To: 49}}, map[int32][2]int64{0: {0, 49}, 1: {45, 49}}},
		{"one offset", map[int32]kafkarange.Range{2: {From: 3, To: 3}}, map[int32][2]int64{2: {3, 3}}},
		{"empty range reads nothing", map[int32]kafkarange.Range{1: {From: 5, To: 4}}, map[int32][2]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[int32][]int64{}
			cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", PollTimeout: 5 * time.Second}
			err := kafkarange.Read(context.Background(), cfg, tt.ranges, func(r *kgo.Record) error {
				got[r.Partition] = append(got[r.Partition], r.Offset)
				if want := fmt.Sprintf("%d/%d", r.Partition, r.Offset); string(r.Value) != want {
					t.Errorf("offset %d of partition %d holds %q, want %q", r.Offset, r.Partition, r.Value, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("partitions read %v, want %v", got, tt.want)
			}
			for p, w := range tt.want {
				offs := got[p]
				if int64(len(offs)) != w[1]-w[0]+1 || offs[0] != w[0] || offs[len(offs)-1] != w[1] {
					t.Errorf("partition %d: read %v, want %d to %d in order", p, offs, w[0], w[1])
				}
				for i := 1; i < len(offs); i++ {
					if offs[i] != offs[i-1]+1 {
						t.Errorf("partition %d: offsets out of order or missing: %v", p, offs)
						break
					}
				}
			}
		})
	}
}

// A range that ends on a transaction marker ends there: the marker is an offset no
// record is delivered at, and nothing follows it.
func TestReadEndsOnATransactionMarker(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cl := b.TxnClient(t, "range-test", []string{"events"}, kgo.DefaultProduceTopic("events"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "0/%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	end := endOffset(t, b)
	if end != 4 {
		t.Fatalf("the log ends at %d, want 4 (three records and the commit marker)", end)
	}
	var got []int64
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", PollTimeout: 3 * time.Second}
	err := kafkarange.Read(ctx, cfg, map[int32]kafkarange.Range{0: {From: 0, To: end - 1}}, func(r *kgo.Record) error {
		got = append(got, r.Offset)
		return nil
	})
	if err != nil {
		t.Fatalf("reading up to the marker: %v", err)
	}
	if fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("read offsets %v, want [0 1 2]", got)
	}
}

func endOffset(t *testing.T, b *kafkatest.Broker) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(b.Client(t)).ListEndOffsets(ctx, "events")
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup("events", 0)
	return o.Offset
}

func TestReadFailsWhenOffsetsNeverCome(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	produce(t, b, 0, 3)
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", PollTimeout: 300 * time.Millisecond}
	n := 0
	err := kafkarange.Read(context.Background(), cfg, map[int32]kafkarange.Range{0: {From: 0, To: 9}}, func(*kgo.Record) error {
		n++
		return nil
	})
	if !errors.Is(err, kafkarange.ErrUnavailable) {
		t.Fatalf("reading offsets the log does not have: err %v, want ErrUnavailable", err)
	}
	if n != 3 {
		t.Errorf("delivered %d records before failing, want the 3 there are", n)
	}
	// The poll that brought nothing was bounded by the test's PollTimeout, not the
	// default's 15 s: the error names the bound it waited.
	if !strings.Contains(err.Error(), "within "+cfg.PollTimeout.String()) {
		t.Errorf("error %q, want it to name the poll timeout of %s it waited", err, cfg.PollTimeout)
	}
}

func TestReadReturnsTheCallersError(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	produce(t, b, 0, 10)
	stop := errors.New("stop here")
	var got []int64
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events"}
	err := kafkarange.Read(context.Background(), cfg, map[int32]kafkarange.Range{0: {From: 0, To: 9}}, func(r *kgo.Record) error {
		got = append(got, r.Offset)
		if r.Offset == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || errors.Is(err, kafkarange.ErrUnavailable) {
		t.Fatalf("err %v, want the callback's own error", err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("delivered %v, want nothing after the failing record", got)
	}
}
