package live

import (
	"fmt"
	"slices"
	"testing"
)

// TestDropCompactsAtExactlyHalfEmpty: drop forgets the customers left without counters
// once they are half the store's, the half itself included (a store that kept them
// until they were more than half would hold, after a rule shared by half its customers
// went, every one of them until some other deletion), and the compaction keeps each
// customer's counters in their order (newest first), as one compaction alone shows: two
// in a row would hide a compaction that reverses them.
func TestDropCompactsAtExactlyHalfEmpty(t *testing.T) {
	t.Parallel()
	s := newCounterStore()
	for i := range 4 {
		ci := s.intern(fmt.Sprintf("cust-%d", i))
		s.add(ci, uint32(1+i%2), int64(10+i)) // customers 0, 2 count rule 1; 1, 3 rule 2
		if i%2 == 1 {
			s.add(ci, 3, int64(20+i))
		}
	}
	s.drop(func(rule uint32) bool { return rule == 1 })
	if got := s.custs.len(); got != 2 {
		t.Errorf("after the rule of 2 of 4 customers went, the store holds %d customers; want 2 (the half left without counters forgotten)", got)
	}
	for i := range 4 {
		want := int64(0)
		if i%2 == 1 {
			want = int64(10 + i)
		}
		if got := s.count(fmt.Sprintf("cust-%d", i), 2); got != want {
			t.Errorf("cust-%d's count of rule 2 = %d, want %d", i, got, want)
		}
	}
	var order []string
	s.each(func(ci int, rule uint32, n int64) {
		order = append(order, fmt.Sprintf("%s/%d=%d", s.name(ci), rule, n))
	})
	if want := []string{"cust-1/3=21", "cust-1/2=11", "cust-3/3=23", "cust-3/2=13"}; !slices.Equal(order, want) {
		t.Errorf("counters after the compaction: %q, want %q", order, want)
	}
	if ci := s.find("cust-0"); ci >= 0 {
		t.Errorf("cust-0, left without counters, is still found (index %d)", ci)
	}
}
