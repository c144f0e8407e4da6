package live_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestConsoleCountsSumACustomerOverPartitions: a customer's events can sit on two
// partitions (partitions added to the events topic move keys; a producer with another
// partitioner), and the daemon's /v1/counts sums them, one customer, one count, both
// for one customer and in the listing (CountsPage sums repeated customers). The
// console's counts (GET /v1/console/counts, and the rules list's customers and top,
// from consoleBackend.Counts) offer each partition's counter separately: the customer
// is counted twice in "customers", and "top" lists it twice with partial counts, so
// that the console disagrees with /v1/counts about the same customer.
func TestConsoleCountsSumACustomerOverPartitions(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 2, nil)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000}`)
	d.b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i, p := range []int32{0, 1, 1} {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte("c-1"), Value: []byte(downloaded)}).FirstErr(); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	waitSeen(t, d.Daemon, 3)

	var one contract.CountView
	if code := livetest.GetJSON(t, d.base+"/v1/counts?rule=any&customer=c-1", &one); code != 200 || one.Count != 3 {
		t.Fatalf("/v1/counts for c-1: %d %+v, want count 3", code, one)
	}
	var got console.CountsResponse
	if code := livetest.GetJSON(t, d.base+"/v1/console/counts?scope=*&id=any", &got); code != 200 {
		t.Fatalf("/v1/console/counts: %d", code)
	}
	if got.Customers != 1 || got.Total != 3 || len(got.Top) != 1 || got.Top[0] != (contract.CustomerCount{Customer: "c-1", Count: 3, PartitionMax: 2}) {
		t.Errorf("/v1/console/counts: customers %d, total %d, top %s; want 1 customer, total 3, top [c-1: 3, at most 2 on one partition] as /v1/counts says",
			got.Customers, got.Total, fmt.Sprint(got.Top))
	}
}
