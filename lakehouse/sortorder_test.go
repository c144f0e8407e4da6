package lakehouse

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSortOrderAgreesWithSortingByName: a file's order is by customer name, then
// offset, whatever strings hold the names: interned ones, equal names in strings of
// their own, names that are prefixes of one another in one backing string (the same
// address, other lengths), more customers than customerIDs' cache has slots, and rows
// added out of offset order.
func TestSortOrderAgreesWithSortingByName(t *testing.T) {
	t.Parallel()
	backing := strings.Repeat("c", 200) // prefixes 64 apart in length share a cache slot
	for _, tc := range []struct {
		name      string
		customers int
		shuffled  bool
	}{{"few", 5, false}, {"past the cache", 300, false}, {"few shuffled", 5, true}, {"past the cache shuffled", 300, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.customers)))
			interned := make([]string, tc.customers)
			for i := range interned {
				interned[i] = fmt.Sprintf("cust-%03d", i)
			}
			b := newBatch(0, 0, time.Time{}, time.Now())
			defer b.release()
			const rows = 5000
			offsets := make([]int64, rows)
			for i := range offsets {
				offsets[i] = int64(i)
			}
			if tc.shuffled {
				rng.Shuffle(rows, func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
			}
			for _, off := range offsets {
				var c string
				switch k := rng.IntN(4); {
				case k == 0:
					c = backing[:1+rng.IntN(len(backing))] // "c", "cc", ...: one address
				case k == 1:
					c = strings.Clone(interned[rng.IntN(len(interned))])
				default:
					c = interned[rng.IntN(len(interned))]
				}
				b.add(off, 0, 0, c, []byte(`{}`), true)
			}
			want := make([]int, rows)
			for i := range want {
				want[i] = i
			}
			slices.SortFunc(want, func(x, y int) int {
				return cmp.Or(strings.Compare(b.customer[x], b.customer[y]), cmp.Compare(b.offsets[x], b.offsets[y]))
			})
			if got := b.sortOrder(); !slices.Equal(got, want) {
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("row %d of the file is row %d (%s, offset %d), want row %d (%s, offset %d)", j,
							got[j], b.customer[got[j]], b.offsets[got[j]], want[j], b.customer[want[j]], b.offsets[want[j]])
					}
				}
			}
		})
	}
}
