package window_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestEachGroupCountTakesAnEarlierLargerWindow: a group's count is its largest open
// window's, wherever that window is among its windows. Here the earlier window (three
// events) outnumbers the later one (one event), both open under the lateness; the
// listing tests had their largest windows last, so the last window's count passed
// for the largest.
func TestEachGroupCountTakesAnEarlierLargerWindow(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"1m"},"lateness":"10m","threshold":1e9`)
	st, _ := run(t, r, window.Limits{},
		in{"c", `{"g":"a"}`, 1000}, in{"c", `{"g":"a"}`, 2000}, in{"c", `{"g":"a"}`, 3000},
		in{"c", `{"g":"a"}`, 61000})
	if n := len(st.Windows("")); n != 2 {
		t.Fatalf("%d open windows, want 2", n)
	}
	var got []int64
	st.EachGroupCount(func(customer []byte, count int64) { got = append(got, count) })
	if len(got) != 1 || got[0] != 3 {
		t.Errorf("EachGroupCount gave counts %v, want [3] (the first window's)", got)
	}
}
