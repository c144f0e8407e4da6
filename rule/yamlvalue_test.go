package rule

import (
	"encoding/json"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// sameAsControl parses file (a rules file of one rule) and control (the same rule as a
// control's JSON) and reports where they differ: their JSON (what `rules apply`
// publishes), and their verdict on event.
func sameAsControl(t *testing.T, file, control, event string) {
	t.Helper()
	rules, err := ParseRulesFile("rules.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseRule([]byte(control))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rules[0])
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("rules file gives\n %s\nthe control\n %s", got, w)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(event)); err != nil {
		t.Fatal(err)
	}
	if g, w := rules[0].Matches(doc), want.Matches(doc); g != w {
		t.Errorf("on %s the file's rule says %v, the control's %v", event, g, w)
	}
}

// TestRulesFileStrTagIsItsText: `!!str` makes a scalar the string its text writes —
// the YAML way, besides quoting, to keep 02142 a ZIP code. The decoder read the scalar
// as a number (or null, or bool) first and printed that: !!str 02142 was "1122"
// (octal), !!str 1.50 was "1.5", !!str null was "".
func TestRulesFileStrTagIsItsText(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct{ text, str string }{
		{"02142", "02142"},
		{"1.50", "1.50"},
		{"0x1F", "0x1F"},
		{"1_000", "1_000"},
		{"null", "null"},
		{"True", "True"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			sj, _ := json.Marshal(tc.str)
			sameAsControl(t,
				"- id: a\n  scope: '*'\n  when: {path: $.zip, op: '==', value: !!str "+tc.text+"}\n  threshold: 1\n",
				`{"id":"a","scope":"*","when":{"path":"$.zip","op":"==","value":`+string(sj)+`},"threshold":1}`,
				`{"zip":`+string(sj)+`}`)
		})
	}
}

// TestRulesFileStrTagOverAnchor: a `!!str` written before an anchor (`!!str &z 5`,
// which YAML allows as well as `&z !!str 5`) still makes the scalar, and every alias
// of it, a string. decodeYAMLNode's marker turned the anchored scalar into a number
// under the tag.
func TestRulesFileStrTagOverAnchor(t *testing.T) {
	mustLimits(t)
	sameAsControl(t,
		"- id: a\n  scope: '*'\n  when: {any: [{path: $.code, op: '==', value: !!str &z 5}, {path: $.alt, op: '==', value: *z}]}\n  threshold: 1\n",
		`{"id":"a","scope":"*","when":{"any":[{"path":"$.code","op":"==","value":"5"},{"path":"$.alt","op":"==","value":"5"}]},"threshold":1}`,
		`{"code":"5"}`)
}

// TestRulesFileMergeKeyExplicitWins: a key written in a mapping overrides the same key
// merged into it with `<<`, wherever the `<<` is written (YAML's merge key: "unless the
// key already exists in it"), and of several merged mappings the earlier overrides.
// The decoder let whatever came last win.
func TestRulesFileMergeKeyExplicitWins(t *testing.T) {
	mustLimits(t)
	t.Run("rule", func(t *testing.T) {
		sameAsControl(t,
			"- id: a\n  scope: '*'\n  when: {all: [&c {path: $.a, op: '>', value: 5}, {path: $.b, <<: *c}]}\n  threshold: 1\n",
			`{"id":"a","scope":"*","when":{"all":[{"path":"$.a","op":">","value":5},{"path":"$.b","op":">","value":5}]},"threshold":1}`,
			`{"a":6,"b":1}`)
	})
	t.Run("merged list", func(t *testing.T) {
		sameAsControl(t,
			"- id: a\n  scope: '*'\n  when: {all: [&c {path: $.a, op: '>', value: 5}, &d {path: $.b, op: '>', value: 5}, {<<: [*c, *d], op: '<'}]}\n  threshold: 1\n",
			`{"id":"a","scope":"*","when":{"all":[{"path":"$.a","op":">","value":5},{"path":"$.b","op":">","value":5},{"path":"$.a","op":"<","value":5}]},"threshold":1}`,
			`{"a":6,"b":6}`)
	})
	t.Run("merged list inside a key written before a merge", func(t *testing.T) {
		// The written key is set again after the outer merge, and so walked twice:
		// its own merge must still be ordered once, not reversed back.
		f, err := ParseRulesFileTests("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.user, op: '==', value: b}\n  threshold: 1\n"+
			"  tests:\n  - name: t\n    customer: c-1\n    events:\n    - &o {type: login}\n    - &c {user: c}\n    - &d {user: d}\n"+
			"    - {actor: {<<: [*c, *d]}, <<: *o}\n    expect: {alerts: 1}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(f.Tests[0].Events[3]), `{"actor":{"user":"c"},"type":"login"}`; got != want {
			t.Errorf("test event %s, want %s (the first merged mapping wins)", got, want)
		}
	})
	t.Run("aliased merged list", func(t *testing.T) {
		// A merge of an alias of a list of mappings: the first mapping wins there too,
		// and the list, used again as a list, keeps its order.
		f, err := ParseRulesFileTests("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.user, op: '==', value: b}\n  threshold: 1\n"+
			"  tests:\n  - name: t\n    customer: c-1\n    events:\n    - &c {user: c}\n    - &d {user: d}\n"+
			"    - {people: &l [*c, *d]}\n    - {<<: *l, type: login}\n    - {people: *l}\n    expect: {alerts: 1}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range map[int]string{2: `{"people":[{"user":"c"},{"user":"d"}]}`, 3: `{"user":"c","type":"login"}`, 4: `{"people":[{"user":"c"},{"user":"d"}]}`} {
			if got := string(f.Tests[0].Events[i]); got != want {
				t.Errorf("test event %d %s, want %s", i, got, want)
			}
		}
	})
	t.Run("test events", func(t *testing.T) {
		f, err := ParseRulesFileTests("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.user, op: '==', value: b}\n  threshold: 1\n"+
			"  tests:\n  - name: t\n    customer: c-1\n    events:\n    - &e {type: login, user: a}\n    - {user: b, <<: *e}\n    expect: {alerts: 1}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(f.Tests[0].Events[1]), `{"user":"b","type":"login"}`; got != want {
			t.Errorf("test event %s, want %s (the JSON live would be sent, members as written)", got, want)
		}
	})
}
