package backfill

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestJobCountsAtMostMaxCustomers: a job over 40 customers' history, from the lake and
// Kafka's tail, bounded to fewer customers, counts only that many, each whole as the
// oracle counts it, tallies the rest's matches as Refused under the bound reached, and
// keeps the same customers when run again. Without the bound it held every customer
// history matched, whatever their number.
func TestJobCountsAtMostMaxCustomers(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(5, workload.Config{Customers: 40, Step: time.Second})
	h := produce(t, b, gen, 1500)
	archive(t, b, bkt, lake, h)
	h = append(h, produce(t, b, gen, 300)...) // the tail, read from Kafka
	job := Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp}
	want := oracle(h, job)
	var total int64
	for _, n := range want {
		total += n
	}
	if len(want) < 30 {
		t.Fatalf("history matched %d customers: too few to bound", len(want))
	}
	for _, tc := range []struct {
		name      string
		customers int
		idBytes   int64
		wantN     int
		by        string
	}{
		{"unbounded", -1, -1, len(want), ""},
		{"max customers", 10, -1, 10, LimitMaxCustomers},
		{"max id bytes", -1, 5 * int64(len(workload.CustomerID(0))), 5, LimitMaxCustomerIDBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir(), MaxCustomers: tc.customers, MaxCustomerIDBytes: tc.idBytes})
			if err != nil {
				t.Fatal(err)
			}
			defer runner.Close()
			var kept []string
			for run := range 2 {
				res, err := runner.Run(context.Background(), job)
				if err != nil {
					t.Fatal(err)
				}
				if res.TailRecords == 0 || res.Rows == 0 {
					t.Fatalf("the job read %d lake rows and %d tail records: both must be exercised", res.Rows, res.TailRecords)
				}
				var counted int64
				for c, n := range res.Counts {
					if n != want[c] {
						t.Errorf("run %d: customer %s counted %d, the oracle %d: a customer counted must be whole", run, c, n, want[c])
					}
					counted += n
				}
				if len(res.Counts) != tc.wantN || res.Refused != total-counted || res.RefusedBy != tc.by {
					t.Fatalf("run %d: %d customers counted (%d matches), %d refused by %q; want %d customers, %d refused by %q",
						run, len(res.Counts), counted, res.Refused, res.RefusedBy, tc.wantN, total-counted, tc.by)
				}
				ids := slices.Sorted(maps.Keys(res.Counts))
				if run == 1 && !slices.Equal(ids, kept) {
					t.Errorf("run again, the job counted %v, first %v", ids, kept)
				}
				kept = ids
			}
		})
	}
}
