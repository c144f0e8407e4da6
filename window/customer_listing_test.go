package window_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// manyCustomers is a state of a grouped, windowed rule with n customers, two groups
// each, customer c-i having i%5+1 events in its group "a" and one in "b".
func manyCustomers(tb testing.TB, n int) *window.State {
	tb.Helper()
	r := mustRule(tb, `"group_by":["$.g"],"window":{"size":"1h"},"threshold":1000`)
	var events []in
	for i := range n {
		c := fmt.Sprintf("c-%05d", i)
		for range i%5 + 1 {
			events = append(events, in{c, `{"g":"a"}`, 1000})
		}
		events = append(events, in{c, `{"g":"b"}`, 1000})
	}
	st, _ := run(tb, r, window.Limits{}, events...)
	return st
}

// TestOneCustomersWindowsCostByItsGroups: live answers one customer's count with
// Windows(customer) under its partition's lock; it had collected and sorted every
// group of the rule to find the customer's, allocating by every other customer.
func TestOneCustomersWindowsCostByItsGroups(t *testing.T) {
	const n = 20_000
	st := manyCustomers(t, n)
	var ws []window.Window
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const calls = 10
	for range calls {
		ws = st.Windows("c-00003")
	}
	runtime.ReadMemStats(&after)
	if len(ws) != 2 || ws[0].Customer != "c-00003" || ws[0].Count != 4 || ws[1].Count != 1 {
		t.Fatalf("Windows(c-00003) = %+v, want its two groups' windows, a's (4) first", ws)
	}
	if perCall := (after.TotalAlloc - before.TotalAlloc) / calls; perCall > 4<<10 {
		t.Errorf("Windows of one customer (2 groups) allocated %d bytes per call among %d customers' groups", perCall, 2*n)
	}
}

// TestEachGroupCountIsEachGroupsLargestWindow: a /v1/counts page of a windowed rule is
// fed from EachGroupCount, which must give every open group once with its largest
// window's count, and allocate nothing, so that a page costs memory by its size.
func TestEachGroupCountIsEachGroupsLargestWindow(t *testing.T) {
	st := manyCustomers(t, 1000)
	groups := map[string]bool{}
	for _, w := range st.Windows("") {
		groups[w.Customer+"/"+string(w.Group)] = true
	}
	calls := 0
	st.EachGroupCount(func([]byte, int64) { calls++ })
	if calls != len(groups) {
		t.Fatalf("EachGroupCount gave %d groups, want %d", calls, len(groups))
	}
	// By customer: the largest of its groups' counts is the customer's count.
	largest := map[string]int64{}
	st.EachGroupCount(func(customer []byte, count int64) {
		largest[string(customer)] = max(largest[string(customer)], count)
	})
	for i := range 1000 {
		if c := fmt.Sprintf("c-%05d", i); largest[c] != int64(i%5+1) {
			t.Errorf("%s: largest count %d, want %d", c, largest[c], i%5+1)
		}
	}
	if a := testing.AllocsPerRun(5, func() { st.EachGroupCount(func([]byte, int64) {}) }); a != 0 {
		t.Errorf("EachGroupCount allocated %v times per pass, want none", a)
	}
}

// TestEachWindowOfCopiesOutOnlyThoseKept: the windows of a page's customers are read in
// one pass over the state; the groups of the others must cost no copy.
func TestEachWindowOfCopiesOutOnlyThoseKept(t *testing.T) {
	st := manyCustomers(t, 1000)
	var got []string
	keep := func(c []byte) bool { return string(c) == "c-00007" || string(c) == "c-00500" }
	st.EachWindowOf(keep, func(w *window.Window) { got = append(got, fmt.Sprintf("%s %d", w.Customer, w.Count)) })
	slices.Sort(got)
	if want := []string{"c-00007 1", "c-00007 3", "c-00500 1", "c-00500 1"}; !slices.Equal(got, want) {
		t.Errorf("EachWindowOf kept %q, want %q", got, want)
	}
	if a := testing.AllocsPerRun(5, func() { st.EachWindowOf(func([]byte) bool { return false }, func(*window.Window) {}) }); a != 0 {
		t.Errorf("EachWindowOf keeping no customer allocated %v times per pass, want none", a)
	}
}
