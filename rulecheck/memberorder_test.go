package rulecheck

import (
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestTestEventIsLivesEvent: a rules file's test event is the event live would
// get with that text; a path selecting several members ($.v.*) takes the first in
// document order for group_by and aggregates (window: "the first finite number", "the
// first value's key"), so the test must see the members in the order written.
func TestTestEventIsLivesEvent(t *testing.T) {
	t.Parallel()
	const event = `{"type":"x","v":{"z":5,"a":7},"g":{"z":"zed","a":"ay"}}`
	src := `rules:
  - id: r
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    group_by: ["$.g.*"]
    aggregate: {fn: sum, path: "$.v.*"}
    window: {size: 1m}
    threshold: 1
    tests:
      - name: the first member in document order
        customer: c-1
        events:
          - ` + event + `
        expect:
          alerts: [{group: {"$.g.*": zed}, value: 5}]
`
	f, err := rule.ParseRulesFileTests("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tt := f.Tests[0]

	// Live: the event's own bytes through the same evaluator.
	set, err := rule.NewSet([]*rule.Rule{tt.Rule})
	if err != nil {
		t.Fatal(err)
	}
	rp := window.NewReplay(set, window.Limits{})
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(event)); err != nil {
		t.Fatal(err)
	}
	found := rp.Add(0, "c-1", doc, tt.RecordTimeOf(0), nil)
	if len(found) != 1 {
		t.Fatalf("live: %d crossings", len(found))
	}
	a, err := window.Alert(tt.Rule, found[0].Crossing, 0, 0, tt.RecordTimeOf(0), "live")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live: group %s value %v", a.Group, a.Value)

	res := Run("rules.yaml", tt)
	if len(res.Problems) > 0 {
		t.Errorf("rules test of the event %s: %v\n(the test's event as parsed: %s; live alerts with group %s, value %v)", event, res.Problems, tt.Events[0], a.Group, a.Value)
	}
}
