package lakehouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestCustomerFilterPrunesFiles: in an archived lake, a one-customer file selection
// keeps every file holding a row of that customer (checked against the rows of every
// file) and drops most of the others: a customer's events sit in one partition.
func TestCustomerFilterPrunesFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 4, "mem")
	_, snap := archiveEvents(t, b, lake, archiverConfig(b, bkt, "filter"), 41, 4000)
	all := snap.Files(lakehouse.Filter{})
	holds := map[string]map[string]bool{} // customer → files holding it
	for _, f := range all {
		if f.CustomerFilter == nil {
			t.Fatalf("%s has no customer filter", f.Path)
		}
		rows, err := lake.ReadRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if holds[r.Customer] == nil {
				holds[r.Customer] = map[string]bool{}
			}
			holds[r.Customer][f.Path] = true
		}
	}
	var kept, without int
	for c, files := range holds {
		sel := map[string]bool{}
		for _, f := range snap.Files(lakehouse.Filter{Customer: c}) {
			sel[f.Path] = true
		}
		for p := range files {
			if !sel[p] {
				t.Errorf("customer %s: file %s holds its rows but the filter dropped it", c, p)
			}
		}
		kept += len(sel) - len(files)
		without += len(all) - len(files)
	}
	// Files kept without the customer: min/max alone keep nearly all of them.
	if rate := float64(kept) / float64(without); rate > 0.06 {
		t.Errorf("%d of %d files without the customer kept (%.0f%%): the filter prunes little", kept, without, 100*rate)
	}
	t.Logf("%d customers, %d files: %d of %d files without the customer kept", len(holds), len(all), kept, without)
}

// TestCustomerFilter: no false negatives, a few false positives, a JSON round trip,
// and no filter past MaxFilteredCustomers.
func TestCustomerFilter(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 10, 250, lakehouse.MaxFilteredCustomers} {
		var cs []string
		for i := range n {
			cs = append(cs, fmt.Sprintf("c-%04d", i))
		}
		f := lakehouse.NewCustomerFilterForTest(cs)
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back lakehouse.CustomerFilter
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if !f.MayContain(c) || !back.MayContain(c) {
				t.Fatalf("n=%d: %s is in the set but not in the filter", n, c)
			}
		}
		fp := 0
		for i := range 20000 {
			if back.MayContain(fmt.Sprintf("x-%d", i)) {
				fp++
			}
		}
		if rate := float64(fp) / 20000; rate > 0.05 {
			t.Errorf("n=%d: false positive rate %.3f", n, rate)
		}
	}
	var cs []string
	for i := range lakehouse.MaxFilteredCustomers + 1 {
		cs = append(cs, fmt.Sprint(i))
	}
	if f := lakehouse.NewCustomerFilterForTest(cs); f != nil || !f.MayContain("anything") {
		t.Errorf("%d customers: filter %v, want none (which may contain anything)", len(cs), f)
	}
}
