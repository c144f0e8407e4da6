package window_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestReplayBoundsCustomerIDBytes: under Limits.MaxCustomerIDBytes of one 64 KiB page,
// as live's --max-customer-ids-bytes 65536, ids of 1,000 bytes fill it at the 65th
// customer (65,000 bytes; a 66th would need a second page). Two plain counts share
// the customers' ids, as live's store does, so a customer counted by one is counted by
// the other without more bytes; a new customer past the bound is refused by both, and
// each is degraded naming the bound. A known customer's later matches still count.
func TestReplayBoundsCustomerIDBytes(t *testing.T) {
	set, rules := everyEventCounts(t, "a", "b")
	rp := window.NewReplay(set, window.Limits{MaxCustomerIDBytes: 64 << 10})
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	const customers = 200
	id := func(i int) string { return fmt.Sprintf("c-%03d-", i) + strings.Repeat("x", 1000-6) }
	fired := map[*rule.Rule]int{}
	var res []window.Result
	for i := range customers {
		res = rp.Add(int64(i), id(i), doc, time.UnixMilli(int64(i)), res[:0])
		for _, x := range res {
			fired[x.Rule]++
		}
	}
	// The first customer again: known, so counted by both rules whatever the bound.
	rp.Add(customers, id(0), doc, time.UnixMilli(customers), res[:0])
	for _, r := range rules {
		kept := 0
		for i := range customers {
			if rp.Count(r, id(i)) > 0 {
				kept++
			}
		}
		if kept != 65 || fired[r] != 65 {
			t.Errorf("rule %s: %d customers kept, %d fired; want 65 and 65 (65,000 bytes of ids in one 64 KiB page)", r.ID, kept, fired[r])
		}
		if n := rp.Count(r, id(0)); n != 2 {
			t.Errorf("rule %s: customer 0's count %d, want 2: a known customer's match needs no new id", r.ID, n)
		}
		const want = "counter store full (at --max-customer-ids-bytes 65536 bytes of customer ids): 135 matches that needed a new counter were not counted"
		if got := rp.Degraded(r); got != want {
			t.Errorf("rule %s degraded %q, want %q", r.ID, got, want)
		}
	}
}

// everyEventCounts is a set of plain counts, one per id, each matching every event with
// threshold 1, and its rules in the order of ids.
func everyEventCounts(t *testing.T, ids ...string) (*rule.Set, []*rule.Rule) {
	t.Helper()
	var rules []*rule.Rule
	for _, id := range ids {
		r, err := rule.ParseRule([]byte(`{"id":"` + id + `","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":1}`))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	return set, rules
}
