package live_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestWindowedCountsAllocateForTheirAnswer: reads of a windowed rule's counts allocate
// for what they answer, not for every customer with an open window. The three reads
// share one daemon of 30,000 customers: each run alone (allocatedPerCall), and feeding
// the customers was most of each one's time, serial, three times over.
func TestWindowedCountsAllocateForTheirAnswer(t *testing.T) {
	const customers = 30_000
	d, r := windowedCustomers(t, customers)

	// OneCustomersWindowedCountIsNotAListing: /v1/counts?rule=R&customer=C is not a
	// heavy request (API.md: listings are, because they walk every counter), so nothing
	// bounds how many run at once, and it runs under each partition's lock. For a
	// windowed or grouped rule it had collected and sorted every open group of the rule
	// in each partition (window.State.Windows) to find one customer's: its cost grew
	// with every other customer's groups. Only the customer's groups are picked out and
	// sorted.
	t.Run("OneCustomersWindowedCountIsNotAListing", func(t *testing.T) {
		perCall := allocatedPerCall(5, func() {
			if v, _ := d.Count(r.Key(), "cust-00001"); v.Count != 1 || v.WindowsTotal != 1 {
				t.Fatalf("count %+v", v)
			}
		})
		if perCall > 32<<10 {
			t.Errorf("one customer's count (1 window) of a windowed rule allocated %d bytes per call with %d other customers' groups open: it walks and sorts all of them", perCall, customers)
		}
	})

	// WindowedCountsPageKeepsOnePage: API.md says a /v1/counts listing "walks every
	// counter of the partitions owned here (keeping only one page in memory)". For a
	// windowed or grouped rule, CountsPage had first built a map of every customer with
	// an open window in each partition, and copied every window in its pass for the
	// page's windows: a page of 1 cost memory by the rule's customers, not by the page.
	t.Run("WindowedCountsPageKeepsOnePage", func(t *testing.T) {
		perCall := allocatedPerCall(3, func() {
			if page, next, ok := d.CountsPage(r.Key(), "", 1); !ok || len(page) != 1 || next == "" {
				t.Fatalf("page %+v next %q ok %v", page, next, ok)
			}
		})
		if perCall > 256<<10 {
			t.Errorf("a page of 1 of a windowed rule's counts allocated %d bytes per call with %d customers: it holds every customer, not one page", perCall, customers)
		}
	})

	// TopCountsOfAWindowedRuleKeepsN: the top counts (the console's, /v1/counts/top)
	// walk every counter but hold n; for a windowed rule they had built a map of every
	// customer of each partition first (a review's test, after CountsPage's fix).
	t.Run("TopCountsOfAWindowedRuleKeepsN", func(t *testing.T) {
		perCall := allocatedPerCall(3, func() {
			if top := d.TopCounts(1); len(top) != 1 {
				t.Fatalf("top %+v", top)
			}
		})
		if perCall > 256<<10 {
			t.Errorf("a top 1 of a windowed rule's counts allocated %d bytes per call with %d customers: it holds every customer, not n", perCall, customers)
		}
	})
}

// TestTopCountsListsACustomerOnceAtItsLargestGroup: a windowed rule's count of a
// customer is its largest open window; taken group by group, a customer of two
// groups is listed once, at the larger one's count, not twice.
func TestTopCountsListsACustomerOnceAtItsLargestGroup(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"burst","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},
		"group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "rule active", func() bool { _, ok := d.Count(r.Key(), "x"); return ok })
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for customer, users := range map[string][]int{"c-1": {4, 5}, "c-2": {3}} {
		for u, n := range users {
			for range n {
				recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(customer),
					Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u%d","ts":%q}`, u, at.Format(time.RFC3339))), Timestamp: at})
			}
		}
	}
	b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "every event counted", func() bool {
		c1, _ := d.Count(r.Key(), "c-1")
		c2, _ := d.Count(r.Key(), "c-2")
		return c1.Count == 5 && c2.Count == 3
	})
	top := d.TopCounts(2)
	if len(top) != 2 || top[0].Customer != "c-1" || top[0].Count != 5 || top[1].Customer != "c-2" || top[1].Count != 3 {
		t.Errorf("top 2 = %+v, want c-1 at 5 (its larger group) and c-2 at 3", top)
	}
}

// allocatedPerCall is what fn allocates a call, on average over calls of it: the
// process's allocations meanwhile, so the tests that use it run alone (not parallel).
func allocatedPerCall(calls int, fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range calls {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(calls)
}

// windowedCustomers is a daemon on one partition with a windowed rule, and one event
// (one open window) for each of n customers.
func windowedCustomers(t *testing.T, n int) (*live.Daemon, *rule.Rule) {
	t.Helper()
	others := n
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"burst","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},
		"group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "rule active", func() bool { _, ok := d.Count(r.Key(), "x"); return ok })
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, others)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("cust-%05d", i)),
			Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u","ts":%q}`, at.Format(time.RFC3339))), Timestamp: at}
	}
	b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "every event counted", func() bool {
		v, _ := d.Count(r.Key(), fmt.Sprintf("cust-%05d", others-1))
		return v.Count == 1
	})
	return d, r
}
