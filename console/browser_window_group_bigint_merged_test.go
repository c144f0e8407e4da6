package console_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBrowserWindowGroupsOfBigIntegersStayApart: two users whose ids are JSON integers
// above 2^53 (9007199254740993 and 9007199254740992) are two groups, as conditions tell
// them apart (TestConditionIntegerBeyond2To53IsNotAnotherOne): the API must list a
// window each, and the page show both groups, not merge them under one rounded id.
func TestBrowserWindowGroupsOfBigIntegersStayApart(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d, page := bigWindowsDaemon(t, "1000", [][2]string{{"9007199254740993", "5"}, {"9007199254740992", "7"}})
	var groups []string
	for _, w := range page.Counts[0].Windows {
		g, _ := json.Marshal(w.Group)
		groups = append(groups, string(g))
	}
	if strings.Join(groups, " ") != `{"$.user":9007199254740992} {"$.user":9007199254740993}` {
		t.Fatalf("API groups %q, want the two ids apart (counts %+v)", groups, page.Counts[0].Windows)
	}
	rows := windowsPanel(t, d)
	joined := strings.Join(rows, "\n")
	if !strings.Contains(joined, "$.user = 9007199254740993 |") || !strings.Contains(joined, "$.user = 9007199254740992 |") {
		t.Errorf("the windows panel shows\n%s\nwant the groups $.user = 9007199254740993 and $.user = 9007199254740992 apart", joined)
	}
}
