package window_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/window"
)

// TestBigIntegerIDsAreNotCollapsed: 64-bit ids (Snowflake-style, beyond 2^53) are
// common as JSON numbers. Two different ids must stay two distinct values and two
// groups; the alert's group must show an id some event held. The rule language
// refuses such integers as literals because float64 would equal their neighbours,
// but at the aggregate and group_by paths they are silently merged: count_distinct
// undercounts, two users' events count as one group's, and the alert shows a
// group value (…768) that no event carried.
func TestBigIntegerIDsAreNotCollapsed(t *testing.T) {
	tests := []struct {
		name      string
		fields    string
		docs      []string
		crossings int
		group     string // the alert's group JSON, when crossings is 1
	}{
		{"count_distinct of two ids", `"aggregate":{"fn":"count_distinct","path":"$.user"},"window":{"size":"1h"},"threshold":2`,
			[]string{`{"user":1234567890123456789}`, `{"user":1234567890123456790}`}, 1, ""},
		{"group_by two ids, one event each", `"group_by":["$.user"],"window":{"size":"1h"},"threshold":2`,
			[]string{`{"user":1234567890123456789}`, `{"user":1234567890123456790}`}, 0, ""},
		{"group shown keeps the id's digits", `"group_by":["$.user"],"window":{"size":"1h"},"threshold":1`,
			[]string{`{"user":1234567890123456789}`}, 1, `{"$.user":1234567890123456789}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, tt.fields)
			s := window.New(r, window.Limits{})
			f := newFeeder()
			var got []window.Crossing
			for i, d := range tt.docs {
				if err := f.doc.Reset([]byte(d)); err != nil {
					t.Fatal(err)
				}
				s.Add(&window.Event{Customer: "c", Doc: f.doc, Time: time.UnixMilli(1000 + int64(i)), Offset: int64(i)}, func(c window.Crossing) {
					c.Group = append([]byte(nil), c.Group...)
					got = append(got, c)
				})
			}
			if len(got) != tt.crossings {
				var vals []float64
				for _, c := range got {
					vals = append(vals, c.Value)
				}
				t.Fatalf("%d crossings (values %v), want %d; degraded %q", len(got), vals, tt.crossings, s.Degraded())
			}
			if tt.group != "" {
				a, err := window.Alert(r, got[0], 0, 0, time.UnixMilli(1000), "live")
				if err != nil {
					t.Fatal(err)
				}
				g, _ := json.Marshal(a.Group)
				if string(g) != tt.group {
					t.Errorf("alert group %s, want %s", g, tt.group)
				}
			}
		})
	}
}
