package window_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestRuleLimitsAreBounded checks that a rule's own limits cannot lift its state's
// bounds without end. A rule's limits override the evaluator's --max-groups and
// --max-distinct, up as well as down; with no ceiling on them, any rule (a customer's,
// from the controls topic) can set max_groups or max_distinct to 2^62 and its state
// keeps whatever its events bring, so the flags bound nothing. A value past the
// process's bound must be a positioned error naming the limit, as every other rule
// limit's is.
func TestRuleLimitsAreBounded(t *testing.T) {
	const huge = `4611686018427387904` // 2^62
	tests := []struct {
		name   string
		fields string
		path   string
	}{
		{"max_groups", `"group_by":["$.g"],"window":{"size":"1m"},"threshold":5,"limits":{"max_groups":` + huge + `}`, "limits.max_groups"},
		{"max_distinct", `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1m"},"threshold":1e9,"limits":{"max_distinct":` + huge + `}`, "limits.max_distinct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := `{"id":"r1","scope":"*","version":1,"when":{"path":"$","op":"exists"},` + tt.fields + `}`
			r, err := rule.ParseRule([]byte(text))
			if err == nil {
				lim := window.Limits{MaxGroups: 4, MaxDistinct: 4}.For(r)
				t.Fatalf("rule with %s %s accepted; its state's limits under --max-groups 4 --max-distinct 4: %+v", tt.path, huge, lim)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
		})
	}
}

// TestRuleMaxGroupsKeepsPastTheFlag checks what a rule's raise may still do: under
// the evaluator's MaxGroups 4 (--max-groups 4), a rule at the ceiling
// (max_rule_groups) keeps that many groups and no more, saying so in Degraded, and a
// rule one past the ceiling is refused.
func TestRuleMaxGroupsKeepsPastTheFlag(t *testing.T) {
	ceiling := rule.CurrentLimits().MaxRuleGroups
	if _, err := rule.ParseRule([]byte(`{"id":"r1","scope":"*","version":1,"when":{"path":"$","op":"exists"},"group_by":["$.g"],"window":{"size":"1m"},"threshold":5,"limits":{"max_groups":` +
		strconv.FormatInt(ceiling+1, 10) + `}}`)); err == nil || !strings.Contains(err.Error(), "limits.max_groups") || !strings.Contains(err.Error(), rule.LimitRuleGroups) {
		t.Errorf("rule with limits.max_groups %d, one past %s: %v; want an error on limits.max_groups naming the limit", ceiling+1, rule.LimitRuleGroups, err)
	}
	// A lower ceiling, so that reaching it takes few events.
	old := rule.CurrentLimits()
	l := old
	l.MaxRuleGroups = 10
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rule.SetLimits(old); err != nil {
			t.Fatal(err)
		}
	})
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"1m"},"threshold":5,"limits":{"max_groups":10}`)
	s := window.New(r, window.Limits{MaxGroups: 4})
	f := newFeeder()
	const n = 1000
	for i := range n {
		f.add(t, s, in{"c", `{"g":` + strconv.Itoa(i) + `}`, 1})
	}
	if got := s.GroupCount(); got != 10 || s.Degraded() == "" {
		t.Errorf("rule at max_rule_groups 10 under --max-groups 4, fed %d groups: keeps %d groups, Degraded %q; want 10 and degraded", n, got, s.Degraded())
	}
}
