package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// TestCountsPageSizeReachedIsNotAStuckZero: the daemon exports
// hindsight_limit_reached_total{name="counts_page_size"} (harden shows the limit with
// ShowCounted: "a count that appears only then cannot be told apart from a limit
// nobody counts"), but nothing ever counts it: a listing without limit cut at
// --counts-page-size, the rest left to next_cursor, leaves it at 0. A series that
// says the limit was never reached while every listing reaches it is a wrong answer;
// it should count the cut pages, or not be exported (as console_windows_page_size,
// the console's like default, is shown without a count). A page cut at the caller's
// own limit, or not cut, reaches nothing.
func TestCountsPageSizeReachedIsNotAStuckZero(t *testing.T) {
	t.Parallel()
	d, want := countingDaemon(t, func(c *live.Config) { c.CountsPageSize, c.CountsMaxPageSize = 20, 100 })
	// A page cut at the caller's own limit, and a last page, are not cut by
	// --counts-page-size: neither reaches it.
	code, p, body := getPage(t, d, "&limit=5")
	if code != 200 || len(p.Counts) != 5 || p.NextCursor == "" {
		t.Fatalf("a listing with limit=5: %d %s; want a page of 5 with a next_cursor", code, body)
	}
	if code, p, body = getPage(t, d, "&limit=100"); code != 200 || len(p.Counts) != 25 || p.NextCursor != "" {
		t.Fatalf("a listing with limit=100: %d %s; want the 25 counts, no next_cursor", code, body)
	}
	if n := d.reached(t, "counts_page_size"); n != 0 {
		t.Errorf("counts_page_size reached %v times after pages cut at the caller's limit or not cut; want 0", n)
	}
	code, p, body = getPage(t, d, "")
	if code != 200 || len(p.Counts) != 20 || p.NextCursor == "" || len(want) != 25 {
		t.Fatalf("a listing without limit: %d %s; want a page of 20 with a next_cursor", code, body)
	}
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := false
	for _, mf := range mfs {
		if mf.GetName() != "hindsight_limit_reached_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == "counts_page_size" {
					exported = true
				}
			}
		}
	}
	if n := d.reached(t, "counts_page_size"); exported && n != 1 {
		t.Errorf("hindsight_limit_reached_total{name=\"counts_page_size\"} = %v after one listing was cut at --counts-page-size; want 1 (or not exported)", n)
	}
}
