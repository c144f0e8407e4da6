package lakehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestMergeWritesWhatTheRowsEncodeTo: merge adds each input's rows to the new file's
// batch as it decodes them, in the input's order (by customer), instead of reading the
// whole group into a []Row sorted by offset first. Its file must be the very bytes,
// and its manifest entry the very entry, that encoding the group's rows in offset
// order gives (what merge did before), typed or not, limited or not, with an input
// of more rows than a decoded record batch holds.
func TestMergeWritesWhatTheRowsEncodeTo(t *testing.T) {
	t.Parallel()
	if UnderRace && testing.Short() {
		t.Skip("encoding on one goroutine, nothing for the race detector: the plain pass of make test runs it")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	hour := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	customers := []string{"c-1", "c-2", "c-ü", "a", "zz"}
	var rows []Row
	sizes := []int{100, 70_000, 250}
	columns := [][]string{{"$.a", "$.b"}, {"$.c"}, {"$.a", "$.d"}}
	for _, n := range sizes {
		for range n {
			o := int64(len(rows))
			rows = append(rows, Row{
				Offset: o, Customer: customers[rng.IntN(len(customers))],
				EventTime: hour.Add(time.Duration(rng.IntN(3600e6)) * time.Microsecond), IngestTime: hour.Add(time.Hour),
				Payload: fmt.Sprintf(`{"a":%d,"b":"%c","c":%v,"d":[%d]}`, rng.IntN(1000), 'a'+rng.IntN(26), rng.IntN(2) == 0, o),
			})
		}
	}
	var d ArchiverConfig
	d.EnsureDefaults()
	opts := d.encodeOptions()
	// The input files depend only on checked: encoded once for the three checked cases,
	// not once each (each encoding of the 70,000 rows is a tenth of the test's CPU).
	type input struct {
		data  []byte
		entry FileEntry
	}
	inputs := map[bool][]input{}
	encodeInputs := func(t *testing.T, checked bool) []input {
		if in, ok := inputs[checked]; ok {
			return in
		}
		var in []input
		start := 0
		for i, n := range sizes {
			cs := NewColumnSet(len(columns[i]))
			if err := cs.Set(columns[i]); err != nil {
				t.Fatal(err)
			}
			data, e, err := encodeRows(0, int64(start), rows[start:start+n], cs, checked, opts)
			if err != nil {
				t.Fatal(err)
			}
			e.Path = dataName(0, hour, e.StartOffset, e.EndOffset)
			in = append(in, input{data, e})
			start += n
		}
		inputs[checked] = in
		return in
	}

	type mergeCase struct {
		name       string
		checked    bool
		maxColumns int
	}
	cases := []mergeCase{
		{"typed", true, DefaultMaxColumns},
		{"limited", true, 2},
		{"untyped", true, -1},
		{"unchecked", false, DefaultMaxColumns},
	}
	if testing.Short() {
		// Each case merges and encodes the 70,350 rows twice, seconds of CPU: the fast
		// tier keeps a typed merge that leaves paths out (retype's limit) and the
		// unchecked one, each reading an input past a record batch; make test runs all.
		cases = []mergeCase{cases[1], cases[3]}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			bkt := NewMemBucket()
			var group []FileEntry
			for _, in := range encodeInputs(t, tc.checked) {
				if err := bkt.Put(ctx, in.entry.Path, bytes.NewReader(in.data)); err != nil {
					t.Fatal(err)
				}
				group = append(group, in.entry)
			}
			mt := &maintainer{bkt: bkt, log: slog.New(slog.DiscardHandler), bo: backoff{min: time.Millisecond, max: time.Millisecond, log: slog.New(slog.DiscardHandler)},
				enc: opts, now: time.Now, maxColumns: tc.maxColumns}
			got, gotData, left, err := mt.merge(ctx, group)
			if err != nil {
				t.Fatal(err)
			}

			// What merge wrote before: every row, sorted by offset, encoded at once
			// under the paths retype keeps.
			var want *ColumnSet
			if tc.checked {
				tp, wantLeft := retype(group, tc.maxColumns, nil)
				if left != wantLeft {
					t.Errorf("merge left %d paths out, retype %d", left, wantLeft)
				}
				if tp != nil {
					want = NewColumnSet(len(tp.cols))
					var paths []string
					for _, c := range tp.cols {
						paths = append(paths, c.Path)
					}
					if err := want.Set(paths); err != nil {
						t.Fatal(err)
					}
				}
			}
			wantData, wantEntry, err := encodeRows(0, 0, slices.Clone(rows), want, tc.checked, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotData, wantData) {
				t.Errorf("merged file differs from the rows' encoding: %d bytes, want %d", len(gotData), len(wantData))
			}
			got.Path, got.Created = "", time.Time{}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(wantEntry)
			if !bytes.Equal(g, w) {
				t.Errorf("merged file's entry\n%s\nwant\n%s", g, w)
			}
			if n := len(got.Columns); tc.checked && n > max(tc.maxColumns, 0) {
				t.Errorf("merged file types %d paths, limit %d", n, tc.maxColumns)
			}
			t.Logf("%d rows, %d typed paths, %d left out, %d bytes", got.Rows, len(got.Columns), left, len(gotData))
		})
	}
}

// TestSortOrderOfRowsOutOfOffsetOrder: a file's order is by customer, then offset,
// also when a customer's rows were added out of offset order (an input of a merge
// not sorted as its writer declared).
func TestSortOrderOfRowsOutOfOffsetOrder(t *testing.T) {
	t.Parallel()
	b := newBatch(0, 0, time.Time{}, time.Now())
	defer b.release()
	now := time.Now()
	for _, r := range []struct {
		off  int64
		cust string
	}{{3, "b"}, {5, "a"}, {1, "b"}, {0, "a"}, {4, "c"}, {2, "b"}} {
		b.add(r.off, now.UnixMicro(), now.UnixMicro(), r.cust, []byte(`{}`), true)
	}
	var got []int64
	for _, i := range b.sortOrder() {
		got = append(got, b.offsets[i])
	}
	if want := []int64{0, 5, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("order by offset %v, want %v", got, want)
	}
}
