package rule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseControlValidation(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error, in order; empty: valid
	}{
		{"upsert as documented", `{"op": "upsert", "rule": {
		   "id": "admin-login-failures", "scope": "*", "version": 2,
		   "name": "Admin login failures", "description": "Failed logins by admins",
		   "when": {"all": [{"path": "$.type", "op": "==", "value": "login.failed"},
		                    {"path": "$.actor.roles[*]", "op": "==", "value": "admin"}]},
		   "aggregate": {"fn": "count"}, "threshold": 5, "lookback": "720h"}}`, nil},
		{"delete", `{"op": "delete", "scope": "*", "id": "admin-login-failures"}`, nil},
		{"jsonpath error has field and column", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,
		   "when":{"all":[{"path":"$.type","op":"==","value":"a"},{"path":"$.a[1,]","op":"exists"}]}}}`,
			[]string{`invalid rule "x"`, "when.all[1].path: column 7"}},
		{"unknown field is rejected", `{"op":"upsert","rule":{"id":"x","scope":"*","treshold":1,"when":{"path":"$.a"}}}`,
			[]string{"treshold"}},
		{"missing threshold and when", `{"op":"upsert","rule":{"id":"x","scope":"c-1"}}`,
			[]string{"threshold: must be at least 1", "when: is required"}},
		{"bad op", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"~="}}}`,
			[]string{`when.op: unknown operator "~="`}},
		{"value needed", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"=="}}}`,
			[]string{"when.value: operator == needs a value"}},
		{"exists takes none", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","value":1}}}`,
			[]string{"when.value: exists takes no value"}},
		{"bad regex", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"matches","value":"(a"}}}`,
			[]string{"when.value: invalid RE2 pattern"}},
		{"in needs list", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"in","value":"a"}}}`,
			[]string{"when.value: in needs a list"}},
		{"ordering needs scalar", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"<","value":[1]}}}`,
			[]string{"when.value: < compares numbers or strings"}},
		{"two forms", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","all":[{"path":"$.b"}]}}}`,
			[]string{"when: must be exactly one of"}},
		{"empty all", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"all":[]}}}`,
			[]string{"when.all: needs at least one condition"}},
		{"nested not path error", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"any":[{"path":"$.a"},{"not":{"path":"$..["}}]}}}`,
			[]string{"when.any[1].not.path: column"}},
		{"old distinct aggregate", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"},"aggregate":{"fn":"distinct","path":"$.b"}}}`,
			[]string{`aggregate.fn: unknown aggregation "distinct"; did you mean count_distinct?`}},
		{"sum without path", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"},"aggregate":{"fn":"sum"}}}`,
			[]string{`aggregate.path: is required for sum`}},
		{"bad lookback", `{"op":"upsert","rule":{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"},"lookback":"a week"}}`,
			[]string{"a week"}},
		{"bad id", `{"op":"upsert","rule":{"id":"a/b","scope":"*","threshold":1,"when":{"path":"$.a"}}}`,
			[]string{"id: must be"}},
		{"bad scope", `{"op":"upsert","rule":{"id":"a","scope":"c-*","threshold":1,"when":{"path":"$.a"}}}`,
			[]string{"scope: must be"}},
		{"delete needs id", `{"op":"delete","scope":"*"}`, []string{"id: is required for delete"}},
		// A delete's record key is its scope and id: one that read as another kind's
		// key, or another id's, had compaction drop that key's upsert.
		{"rule delete with a destination's scope", `{"op":"delete","scope":"destination:c-1","id":"secops"}`, []string{`scope: must not start with "destination:"`}},
		{"rule delete with an id of two", `{"op":"delete","scope":"c","id":"a/b"}`, []string{`id: "a/b": letters`}},
		{"mute delete with a bad scope", `{"op":"delete","kind":"mute","scope":"c-*","id":"m"}`, []string{"scope: must be a customer id (valid UTF-8) or *"}},
		{"rule scope not UTF-8", "{\"op\":\"upsert\",\"rule\":{\"id\":\"x\",\"scope\":\"c-\xff\",\"version\":1,\"threshold\":1,\"when\":{\"path\":\"$.a\"}}}", []string{"scope: must be \"*\" or one customer id (valid UTF-8"}},
		{"destination scope not UTF-8", "{\"op\":\"upsert\",\"destination\":{\"scope\":\"c-\xff\",\"name\":\"p\",\"type\":\"webhook\",\"url\":\"https://h.example.com/\"}}", []string{"scope: is required: a customer id (valid UTF-8)"}},
		{"destination delete", `{"op":"delete","kind":"destination","scope":"c-1","id":"ops"}`, nil},
		{"unknown op", `{"op":"replace"}`, []string{`op: "replace" is not upsert or delete`}},
		{"not json", `{"op":`, []string{"not a valid JSON control"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseControl([]byte(tt.in))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %+v, want error containing %q", c, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			msg, at := err.Error(), 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (after position %d)", msg, w, at)
				}
				at += i + len(w)
			}
		})
	}
}

func TestControlRoundTripAndDefaults(t *testing.T) {
	c, err := ParseControl([]byte(`{"op":"upsert","rule":{"id":"r","scope":"c-1","threshold":3,"when":{"path":"$.type"},"lookback":"30d"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rule
	if r.Version != 1 || r.Aggregate.Fn != AggCount || r.When.Op != OpExists {
		t.Fatalf("defaults not applied: version %d agg %q op %q", r.Version, r.Aggregate.Fn, r.When.Op)
	}
	if time.Duration(r.Lookback) != 30*24*time.Hour {
		t.Fatalf("lookback %v", time.Duration(r.Lookback))
	}
	if c.Key().String() != "c-1/r" {
		t.Fatalf("key %s", c.Key())
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseControl(b)
	if err != nil {
		t.Fatalf("re-parsing %s: %v", b, err)
	}
	if c2.Rule.Lookback != r.Lookback || c2.Rule.Threshold.Count() != 3 || c2.Key() != c.Key() {
		t.Fatalf("round trip changed the rule: %s", b)
	}
	k, err := ParseKey("c/with/slash/r")
	if err != nil || k.Scope != "c/with/slash" || k.ID != "r" {
		t.Fatalf("ParseKey: %+v %v", k, err)
	}
}

func TestParseRulesFile(t *testing.T) {
	yamlFile := `
rules:
  - id: a
    scope: "*"
    threshold: 2
    when: {path: $.type, op: ==, value: login.failed}
  - id: b
    scope: c-1
    threshold: 1
    lookback: 720h
    when:
      all:
        - {path: "$.actor.roles[*]", op: ==, value: admin}
        - {path: $.severity, op: ">=", value: 3}
`
	rules, err := ParseRulesFile("r.yaml", []byte(yamlFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[1].Scope != "c-1" || len(rules[1].When.All) != 2 || string(rules[1].When.All[1].Value) != "3" {
		t.Fatalf("parsed %+v", rules)
	}
	jsonFile := `[{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a"}}]`
	if rules, err := ParseRulesFile("r.json", []byte(jsonFile)); err != nil || len(rules) != 1 {
		t.Fatalf("json file: %v %v", rules, err)
	}
	bad := `- id: ok
  scope: "*"
  threshold: 1
  when: {path: $.a}
- id: broken
  scope: "*"
  threshold: 1
  when: {path: "$.a[?@.b ==]"}
- id: ok
  scope: "*"
  threshold: 1
  when: {path: $.b}
`
	_, err = ParseRulesFile("bad.yaml", []byte(bad))
	if err == nil {
		t.Fatal("accepted a file with a broken rule")
	}
	for _, w := range []string{`bad.yaml:5: rule #2 (id "broken")`, "when.path: column 12", `bad.yaml:9: rule #3 (id "ok")`, "already rule #1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 5 {
		t.Errorf("first FileError %+v", fe)
	}
	if _, err := ParseRulesFile("x.yaml", []byte("id: [unclosed")); err == nil {
		t.Error("accepted YAML with a syntax error")
	}
	if _, err := ParseRulesFile("x.yaml", []byte("just a string")); err == nil {
		t.Error("accepted a file that is not a list")
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "720h": 720 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour} {
		d, err := ParseDuration(in)
		if err != nil || time.Duration(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"1w", "-d", "1.5d", "d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
	if s := Duration(48 * time.Hour).String(); s != "2d" {
		t.Errorf("String = %q", s)
	}
}
