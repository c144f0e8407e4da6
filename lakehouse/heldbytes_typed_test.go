package lakehouse

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestBufferBudgetCountsTypedValues: MaxBufferedBytes counts a file in memory as its
// raw JSON and 52 bytes a row (heldBytes), but a typed file also holds, per typed path
// and row, a kind and a value (9 bytes), and a copy of every typed string. 20,000
// events of one 1,000-byte string, typed under the default 32 paths, take about 29 MB
// more memory than the same events untyped, and the budget counts them the same.
func TestBufferBudgetCountsTypedValues(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var paths []string
	paths = append(paths, "$.s")
	for i := range DefaultMaxColumns - 1 {
		paths = append(paths, fmt.Sprintf("$.p%d", i))
	}
	payload := []byte(`{"s":"` + strings.Repeat("x", 1000) + `"}`)
	const rows = 20_000
	var held, counted [2]int64
	for i, typed := range []bool{false, true} {
		t.Run(fmt.Sprint("typed=", typed), func(t *testing.T) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := int64(ms.HeapAlloc) + BuffersOutstanding()
			b := newBatch(0, 0, now.Truncate(time.Hour), now)
			defer b.release()
			if typed {
				cols := NewColumnSet(DefaultMaxColumns)
				if err := cols.Set(paths); err != nil {
					t.Fatal(err)
				}
				b.typed = newTypedBatch(cols.snapshot())
			}
			doc := jsonpath.NewDocument()
			for i := range rows {
				b.addRead(int64(i), now, now, "c-1", payload, doc)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			held[i] = int64(ms.HeapAlloc) + BuffersOutstanding() - base
			counted[i] = b.heldBytes()
			t.Logf("typed=%v: heldBytes %d (raw %d), memory grew %d", typed, b.heldBytes(), b.rawBytes(), held[i])
			runtime.KeepAlive(b)
		})
	}
	extra, extraCounted := held[1]-held[0], counted[1]-counted[0]
	if float64(extraCounted) < 0.5*float64(extra) {
		t.Errorf("typing the file under %d paths took %d more bytes of memory, and MaxBufferedBytes counts %d more: the typed values are not counted",
			len(paths), extra, extraCounted)
	}
}
