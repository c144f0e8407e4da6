package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestKeyOfExactlyMaxKeyBytesCounts: MaxKeyBytes is the longest key a state keeps, so
// a group key or count_distinct value of exactly that many bytes counts, and only a
// longer one is refused (KeysTooLong). The string "abcdef" keys as 8 bytes (tag,
// length, 6 bytes), "abcdefg" as 9. TestLimits' cases were all well below or above
// the limit, so refusing at the limit itself went unseen for count_distinct values.
func TestKeyOfExactlyMaxKeyBytesCounts(t *testing.T) {
	if got := len(gk(`"abcdef"`)); got != 8 {
		t.Fatalf(`"abcdef" keys as %d bytes; the cases below assume 8`, got)
	}
	tests := []struct {
		name   string
		fields string
		events []in
		want   []win
	}{
		{"group key", `"group_by":["$.g"]`,
			[]in{{"c", `{"g":"abcdef"}`, 1}, {"c", `{"g":"abcdefg"}`, 2}},
			[]win{{"c", gk(`"abcdef"`), 0, 60000, 1, 1, true, false}}},
		{"count_distinct value", `"aggregate":{"fn":"count_distinct","path":"$.v"}`,
			[]in{{"c", `{"v":"abcdef"}`, 1}, {"c", `{"v":"abcdefg"}`, 2}, {"c", `{"v":"xyz"}`, 3}},
			[]win{{"c", "", 0, 60000, 2, 2, true, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, `"threshold":1e9,"window":{"size":"1m"},`+tt.fields)
			st, _ := run(t, r, window.Limits{MaxKeyBytes: 8}, tt.events...)
			if got := st.Stats(); got != (window.Stats{KeysTooLong: 1}) {
				t.Errorf("stats %+v, want only the 9-byte key refused (KeysTooLong 1)", got)
			}
			if got := openWindows(st, ""); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("windows\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
