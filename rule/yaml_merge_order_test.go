package rule

import (
	"testing"
)

// TestMergedListMembersKeepTheirOrder: a test's event is run "as the file has it,
// members in order, since a path selecting several takes the first in document order"
// (architecture.md, Package rulecheck; memberOrder). Merging a list of mappings,
// `<<: [{x: 1}, {y: 2}]`, writes x before y, and the first mapping wins a key both
// hold; writtenAfterMerges reverses the list for the decoder's last-wins, and the
// event's members come out reversed: {"y":2,"x":1}. A rule grouping by $.k.* then
// groups this test's event under 2 where the file, read in order, says 1.
func TestMergedListMembersKeepTheirOrder(t *testing.T) {
	y := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
		"    tests:\n      - name: t\n        customer: c\n        events:\n          - {type: a, k: {<<: [{x: 1}, {y: 2}]}}\n        expect: {alerts: 1}\n"
	f, err := ParseRulesFileTests("rules.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Tests[0].Events[0]), `{"type":"a","k":{"x":1,"y":2}}`; got != want {
		t.Errorf("event written {type: a, k: {<<: [{x: 1}, {y: 2}]}} is run as %s, want %s", got, want)
	}
}

// TestMergedMembersInWrittenOrder: a mapping's members, merged or written, are in the
// order the file first gives each, through lists written out or aliased, merges within
// merged mappings and merges of a list twice; each keeps the value the merge key
// defines (a written key over merged ones, the first merged mapping over the others).
func TestMergedMembersInWrittenOrder(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct{ event, want string }{
		{"{type: a, k: {a: 0, <<: [{x: 1, y: 1}, {y: 2, z: 2}], c: 3}}",
			`{"type":"a","k":{"a":0,"x":1,"y":1,"z":2,"c":3}}`},
		{"{type: a, b: &b [{p: 1}, {q: 2}], k: {<<: *b, r: 3}, j: {<<: *b}}",
			`{"type":"a","b":[{"p":1},{"q":2}],"k":{"p":1,"q":2,"r":3},"j":{"p":1,"q":2}}`},
		{"{type: a, k: {<<: [{<<: [{m: 1}, {n: 2, m: 9}], o: 3}, {p: 4, m: 5}]}}",
			`{"type":"a","k":{"m":1,"n":2,"o":3,"p":4}}`},
		{"{type: a, m: &m {<<: [{u: 1}, {v: 2}]}, k: {<<: [*m, *m, {w: 3, u: 4}]}}",
			`{"type":"a","m":{"u":1,"v":2},"k":{"u":1,"v":2,"w":3}}`},
		{"{type: a, k: {<<: {x: 1}, x: 0}}", `{"type":"a","k":{"x":0}}`},
		{"{type: a, k: {y: 0, <<: [{x: 1}, {y: 2}]}}", `{"type":"a","k":{"y":0,"x":1}}`},
	} {
		y := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
			"    tests:\n      - name: t\n        customer: c\n        events:\n          - " + tc.event + "\n        expect: {alerts: 1}\n"
		f, err := ParseRulesFileTests("rules.yaml", []byte(y))
		if err != nil {
			t.Errorf("%s: %v", tc.event, err)
			continue
		}
		if got := string(f.Tests[0].Events[0]); got != tc.want {
			t.Errorf("event %s\n run as %s\n want   %s", tc.event, got, tc.want)
		}
	}
}
