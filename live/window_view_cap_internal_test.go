package live

import (
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestWindowViewListsAtMostTheCap: a customer's row lists at most
// contract.MaxWindowsPerCount of its windows, the earliest, and says how many it has
// and the largest count among all of them, the unlisted included.
func TestWindowViewListsAtMostTheCap(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"w","scope":"*","when":{"path":"$.type"},"window":{"size":"1s"},"time":"$.ts","threshold":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	ar := &controls.Version{Rule: r, Key: r.Key(), Fingerprint: controls.Fingerprint(r), Seq: 1}
	const n = contract.MaxWindowsPerCount + 1
	ws := make([]window.Window, n)
	for i := range ws { // listed in reverse: the view sorts them by start
		s := int64(n-1-i) * 1000
		ws[i] = window.Window{Customer: "c", Windowed: true, Start: s, End: s + 1000, Count: s/1000 + 1}
	}
	var v contract.CountView
	windowView(ar, ws, &v)
	if v.WindowsTotal != n || v.Count != n {
		t.Errorf("WindowsTotal %d, Count %d; want %d and %d (the latest window's, unlisted)", v.WindowsTotal, v.Count, n, n)
	}
	if len(v.Windows) != contract.MaxWindowsPerCount {
		t.Fatalf("%d windows listed, want %d", len(v.Windows), contract.MaxWindowsPerCount)
	}
	if last := v.Windows[len(v.Windows)-1]; last.Count != contract.MaxWindowsPerCount {
		t.Errorf("last listed window has count %d, want %d (the earliest windows are listed)", last.Count, contract.MaxWindowsPerCount)
	}
}
