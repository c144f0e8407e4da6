package notify

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCheckAlert: what checkAlert refuses as no alert live could have written, and
// what it takes.
func TestCheckAlert(t *testing.T) {
	t.Parallel()
	most := rule.CurrentLimits().MaxNotify
	names := func(n int) []string {
		var ns []string
		for i := range n {
			ns = append(ns, "d"+strings.Repeat("x", i))
		}
		return ns
	}
	for _, tc := range []struct {
		name   string
		change func(a *contract.Alert)
		want   string // in the error; "" for none
	}{
		{"an alert", func(*contract.Alert) {}, ""},
		{"resolved", func(a *contract.Alert) { a.Status = contract.StatusResolved }, ""},
		{"zero", func(a *contract.Alert) { *a = contract.Alert{} }, "no alert_id"},
		{"no rule", func(a *contract.Alert) { a.RuleID = "" }, "no rule_id"},
		{"no status", func(a *contract.Alert) { a.Status = "" }, "neither firing nor resolved"},
		{"other status", func(a *contract.Alert) { a.Status = "FIRING" }, "neither firing nor resolved"},
		{"line break in its id", func(a *contract.Alert) { a.AlertID = "id\r\nX-Injected: yes" }, "control character"},
		{"a name twice", func(a *contract.Alert) { a.Notify = []string{"a", "b", "a"} }, `"a" twice`},
		{"max_rule_notify names", func(a *contract.Alert) { a.Notify = names(most) }, ""},
		{"over max_rule_notify names", func(a *contract.Alert) { a.Notify = names(most + 1) }, rule.LimitNotify},
		{"no destination name", func(a *contract.Alert) { a.Notify = []string{"a b"} }, "no destination name"},
	} {
		a := testAlert()
		a.Notify = []string{"hook"}
		tc.change(a)
		err := checkAlert(a)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v; want it taken", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error saying %q", tc.name, err, tc.want)
		}
	}
}
