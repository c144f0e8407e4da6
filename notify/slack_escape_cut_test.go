package notify

import (
	"strings"
	"testing"
)

// TestSlackEscapeCutKeepsWholeEntities: a Slack text over its bound is cut, and an
// entity the cut splits (&am…) goes whole, as Slack would show its pieces. That an
// entity the cut leaves whole stays had no test (a mutation hunt: cutting at the last
// '&' whatever followed it passed every notify test), and then a text ending in an
// escaped '<' lost the '<' and all after it.
func TestSlackEscapeCutKeepsWholeEntities(t *testing.T) {
	t.Parallel()
	a := strings.Repeat("a", 20)
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"an entity whole before the cut stays", a + "<" + strings.Repeat("b", 10), 30, a + "&lt;" + "bbbbb…"},
		{"an entity the cut splits goes", a + "<" + strings.Repeat("b", 10), 23, a + "…"},
		{"the entity's last byte cut", a + "&" + strings.Repeat("b", 10), 25, a + "…"},
		{"within the bound, nothing cut", a + "&", 25, a + "&amp;"},
	} {
		if got := slackEscape(tc.in, tc.max); got != tc.want {
			t.Errorf("%s: slackEscape(%q, %d) = %q, want %q", tc.name, tc.in, tc.max, got, tc.want)
		}
	}
}
