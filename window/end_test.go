package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestEndIncidentsResolvesOpenOnes: a state whose rule version ends resolves each open
// incident whose firing alert was sent, in (close time, group id) order, with the
// opening alert's window and figures; a silenced incident and a rule without resolve
// send nothing.
func TestEndIncidentsResolvesOpenOnes(t *testing.T) {
	ev := func(g string, ms int64) in { return in{"c1", `{"g":"` + g + `"}`, ms} }
	events := []in{ev("b", 1000), ev("b", 2000), ev("a", 3000), ev("a", 4000), ev("a", 5000), ev("c", 6000), ev("c", 7000)}
	for _, tc := range []struct {
		name, alert string
		want        string
	}{
		{"resolve", `"resolve":true`, fmt.Sprint([]crossing{
			// b's incident opened first, so closes first (the default suppress after it).
			{Customer: "c1", Group: gk(`"b"`), Windowed: true, Start: 0, End: 10_000, Count: 2, Value: 2, Resolved: true},
			{Customer: "c1", Group: gk(`"a"`), Windowed: true, Start: 0, End: 10_000, Count: 2, Value: 2, Resolved: true},
		})},
		{"suppress only", `"suppress":"1h"`, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"threshold":2,"alert":{`+tc.alert+`}`)
			st, out := run(t, r, window.Limits{}, events...)
			if len(out) != 3 || st.Incidents() != 3 {
				t.Fatalf("crossings %v, %d incidents; want a's, b's and c's", out, st.Incidents())
			}
			st.Silence("c1", []byte(gk(`"c"`)), 0)
			var ended []crossing
			st.EndIncidents(func(c window.Crossing) { ended = append(ended, fromCrossing(c)) })
			if got := fmt.Sprint(ended); got != tc.want || st.Incidents() != 0 {
				t.Errorf("ended %s with %d incidents left; want %s and none", got, st.Incidents(), tc.want)
			}
		})
	}
}
