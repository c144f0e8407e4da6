package lakehouse

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestBufferBudgetCountsTypedValues: MaxBufferedBytes counts a file in memory by
// heldBytes. A typed file also holds, per typed path and row, a kind and a value, and
// a copy of every typed string; uncounted, 1 KB events typed under the default 32
// paths held half as much again as the budget saw. The memory is measured from the
// typed columns' own chunks, so the test reads no heap statistics (which other tests
// in the process move).
func TestBufferBudgetCountsTypedValues(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	paths := []string{"$.s"}
	for i := range DefaultMaxColumns - 1 {
		paths = append(paths, fmt.Sprintf("$.p%d", i))
	}
	cols := NewColumnSet(DefaultMaxColumns)
	if err := cols.Set(paths); err != nil {
		t.Fatal(err)
	}
	payloads := map[string][]byte{
		"1 KB string": []byte(`{"s":"` + strings.Repeat("x", 1000) + `","p0":1.5}`),
		"numbers":     []byte(`{"s":7,"p0":1,"p1":2,"p2":true}`),
		"not JSON":    []byte(`{"s":`), // a compacted unchecked file's row: untyped
	}
	const rows = 20_000
	for name, payload := range payloads {
		t.Run(name, func(t *testing.T) {
			plain := newBatch(0, 0, now.Truncate(time.Hour), now)
			defer plain.release()
			typed := newBatch(0, 0, now.Truncate(time.Hour), now)
			typed.typed = newTypedBatch(cols.snapshot())
			doc := jsonpath.NewDocument()
			for i := range rows {
				plain.addRead(int64(i), now, now, "c-1", payload, doc)
				typed.addRead(int64(i), now, now, "c-1", payload, doc)
			}
			var held int64 // what the typed columns' chunks hold
			for _, c := range typed.typed.cols {
				for _, k := range c.kinds {
					held += int64(len(k))
				}
				for _, v := range c.vals {
					held += 8 * int64(len(v))
				}
				for _, s := range c.strs {
					held += int64(len(s))
				}
			}
			counted := typed.heldBytes() - plain.heldBytes()
			t.Logf("typed values hold %d bytes; heldBytes counts %d more typed than untyped", held, counted)
			if held == 0 || counted != held {
				t.Errorf("the typed columns of %d rows under %d paths hold %d bytes, and MaxBufferedBytes counts %d of them", rows, len(paths), held, counted)
			}
			typed.release() // as the flush does once the file is encoded: it still counts until committed
			if after := typed.heldBytes() - plain.heldBytes(); after != counted {
				t.Errorf("released, the file counts %d typed bytes, want %d (its JSON still counts too)", after, counted)
			}
		})
	}
}

// TestArchiverBudgetCountsTypedValues: the archiver's own intake (appendLocked, which
// types each record as it buffers it) leaves the open file counting its typed values,
// so that the files over MaxBufferedBytes close early by what they hold.
func TestArchiverBudgetCountsTypedValues(t *testing.T) {
	t.Parallel()
	cols := NewColumnSet(DefaultMaxColumns)
	if err := cols.Set([]string{"$.s", "$.n"}); err != nil {
		t.Fatal(err)
	}
	cfg := ArchiverConfig{Brokers: []string{"127.0.0.1:1"}, Bucket: NewMemBucket(), Columns: cols, RollBytes: 1 << 30}
	cfg.EnsureDefaults()
	a, err := newArchiver(cfg, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.releaseAll)
	st := &partState{next: -1, refusedTo: -1, covered: -1, cuNext: -1}
	a.parts[0] = st
	str := strings.Repeat("y", 500)
	a.mu.Lock()
	a.appendLocked(fetchOf(0, 999, -1, `{"s":"`+str+`","n":3}`), nil, time.Now())
	a.mu.Unlock()
	if st.cur == nil || st.cur.len() != 1000 {
		t.Fatalf("the open file holds %v rows, want 1000", st.cur)
	}
	want := int64(1000 * (2*typedRowBytes + len(str)))
	if got := st.cur.heldBytes() - st.cur.rawBytes() - 1000*heldRowBytes; got != want {
		t.Errorf("the open file counts %d bytes of typed values, want %d (2 paths of 1,000 rows and their strings)", got, want)
	}
}
