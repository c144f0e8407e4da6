package window_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestIDPagesAsLivesStore: an id that does not fit in the rest of a page starts a new
// one, and an id longer than a page takes pages of its own: the bytes counted against
// --max-customer-ids-bytes are the pages', unused ends included.
func TestIDPagesAsLivesStore(t *testing.T) {
	var p window.IDPages
	if !p.Fits(70_000, 2*window.IDPage) || p.Fits(70_000, 2*window.IDPage-1) {
		t.Fatalf("a 70,000-byte id should need two pages exactly")
	}
	if at := p.Add(70_000); at != 0 || p.Top != 2*window.IDPage || p.End != 70_000 {
		t.Fatalf("first id at %d, pages %+v; want 0, Top %d, End 70000", at, p, 2*window.IDPage)
	}
	if at := p.Add(100); at != 70_000 || p.Top != 2*window.IDPage {
		t.Fatalf("a short id after it at %d, pages %+v: want it in the rest of the second page", at, p)
	}
	rest := 2*window.IDPage - p.End
	if !p.Fits(rest, 2*window.IDPage) || p.Fits(rest+1, 3*window.IDPage-1) {
		t.Fatalf("pages %+v: %d bytes fill the second page; one more needs a third", p, rest)
	}
	if at := p.Add(rest + 1); at != 2*window.IDPage || p.Top != 3*window.IDPage {
		t.Fatalf("an id past the page's rest at %d, pages %+v: want a new page at %d", at, p, 2*window.IDPage)
	}
	if at := p.Add(0); at != p.End || p.Top != 3*window.IDPage {
		t.Fatalf("an empty id took room: at %d, pages %+v", at, p)
	}
}
