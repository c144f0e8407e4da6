package rule

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseControl: any bytes on the controls topic give a control or an error that
// matches ErrInvalid; never a panic, never a valid control that fails to index or
// exceeds max_rule_bytes.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{
		`{"op":"upsert","rule":{"id":"a","scope":"*","threshold":5,"when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"lookback":"720h"}}`,
		`{"op":"delete","scope":"*","id":"a"}`,
		`{"op":"upsert","rule":{"id":"b","scope":"c-1","threshold":1,"when":{"any":[{"not":{"path":"$..x"}},{"path":"$.a[?@.b > 2]","op":"in","value":[1,"2",null]}]}}}`,
		`{"op":"upsert","rule":{"id":"c","scope":"*","threshold":1,"when":{"path":"$.s","op":"matches","value":"^a+$"}}}`,
		`{"op":`, `[]`, `null`, ``,
		// At and past the limits.
		`{"op":"upsert","rule":{"id":"d","scope":"*","threshold":1,"when":` + strings.Repeat(`{"not":`, 17) + `{"path":"$.a"}` + strings.Repeat(`}`, 17) + `}}`,
		`{"op":"upsert","rule":{"id":"j","scope":"*","threshold":1,"when":{"path":"$.a","op":"==","value":` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}}}`,
		`{"op":"upsert","rule":{"id":"v","scope":"*","version":9007199254740993,"threshold":1,"lookback":"213504d","when":{"path":"$.a"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if c.Op == OpUpsert {
			if _, err := NewSet([]*Rule{c.Rule}); err != nil {
				t.Fatalf("valid control %s does not index: %v", data, err)
			}
			if b, _ := json.Marshal(c.Rule); len(b) > CurrentLimits().MaxRuleBytes {
				t.Fatalf("valid control's rule is %d bytes of JSON", len(b))
			}
		}
	})
}

// FuzzParseRulesFile: any bytes as a rules file give valid rules or an error; never a
// panic, and aliases never make a rule beyond max_rule_bytes.
func FuzzParseRulesFile(f *testing.F) {
	for _, s := range []string{
		"- {id: a, scope: '*', threshold: 1, when: {path: $.a}}\n",
		"rules:\n  - id: a\n    scope: '*'\n    threshold: 1\n    when:\n      any:\n        - &x {path: $.a, op: ==, value: 1}\n        - not: *x\n",
		billionLaughs,
		"- &a [*a]\n",
		"- id: a\n  when: !!map {<<: *m}\n",
		`[{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a"}}]`,
		// Text the decoder read otherwise than written (yamltext.go), and merges whose
		// members are put back in the order written (mergeOrder).
		"- {id: a, scope: '*', threshold: 1, when: {path: $.a, op: ==, value: \"\\ud83d\\ude00\\udc00\\U0000D800\"}}\r\n",
		"- id: a\r\n  scope: '*'\r\n  threshold: 01\r\n  when: {path: $.a, op: ==, value: a\tb}\r\n",
		"- id: a\n  when: !!null x\n  v: - - - !!str 07\n  w: {<<: [{<<: [{a: 1}, {b: 2}]}, {a: 3}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRulesFile("f.yaml", data)
		if err != nil {
			return
		}
		if _, err := NewSet(rules); err != nil {
			t.Fatalf("valid rules do not index: %v", err)
		}
		for _, r := range rules {
			if b, _ := json.Marshal(r); len(b) > CurrentLimits().MaxRuleBytes {
				t.Fatalf("rule %s is %d bytes of JSON", r.ID, len(b))
			}
		}
	})
}

// aggSeeds are rule texts at the edges of the aggregation fields: durations (days, units,
// sub-millisecond, overflow, every dividing size or not, overlap at and past 1440),
// thresholds (bare, objects, fractions, 2^53 and past it, exponents, text), group_by
// and aggregate paths, time and lateness with and without window, limits.
var aggSeeds = []string{
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":5}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"count"},"threshold":{"op":">=","value":5}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"group_by":["$.user","$.ip"],"window":{"size":"10m","every":"1m"},"time":"$.ts","lateness":"30s"}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"1d","every":"1m"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"1441m","every":"1m"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"10m","every":"3m"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"1500us"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"3650d","every":"3650d"},"lateness":"3650d"}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"106751d"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"2562047h47m16.854775807s","every":"1ns"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"-1m","every":"-1m"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"1h","every":"0s"},"lateness":"1.5s"}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":{"size":"10 minutes"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"time":"$.ts","lateness":"1s"}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"avg","path":"$.v[*]"},"threshold":{"op":"<","value":-0.5}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"count_distinct","path":"$.u"},"threshold":{"op":"==","value":3},"limits":{"max_groups":1,"max_distinct":2}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"sum","path":"$.v"},"threshold":-0}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"sum","path":"$.v"},"threshold":9007199254740993}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"max","path":"$.v"},"threshold":{"op":">","value":9007199254740992.5}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"min","path":"$.v"},"threshold":{"op":">","value":-1e400}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"min","path":"$.v"},"threshold":1e-400}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":{"op":"!=","value":1}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":{"op":">","value":1,"x":2}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":{"op":">"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":"5"}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":null,"window":{"size":"1m"}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1.5}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"group_by":["$.a","$.b","$.c","$.d","$.e"]}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"group_by":["$.a","$['a']","$.a"]}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"group_by":["$.a[?@.b > 1]","$..c"]}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"group_by":["$['\u00e9']","$['\u00e8']"]}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"limits":{"max_distinct":3}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"limits":{}}`,
	`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":2,"window":null,"limits":null}`,
}

// FuzzParseRule: any text as a rule gives a rule or an error that matches ErrInvalid;
// never a panic. A rule accepted is one the evaluator can hold: its encoding parses
// back to the same rule (so a control carries it intact and its fingerprint is stable),
// and its window, threshold and group_by are within what validation promises.
func FuzzParseRule(f *testing.F) {
	for _, s := range aggSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsedRule(t, data)
	})
}

// FuzzRuleFields: as FuzzParseRule, with the aggregation fields' text fuzzed within a
// well-formed rule, so that the fuzzer spends its time on durations, thresholds and
// paths rather than on JSON syntax. threshold is JSON text if valid, else a string.
func FuzzRuleFields(f *testing.F) {
	type seed struct {
		size, every, lateness, threshold, fn, aggPath, timePath, group0, group1 string
		maxGroups, maxDistinct                                                  int64
	}
	for _, s := range []seed{
		{"10m", "1m", "30s", "5", "count", "", "$.ts", "$.user", "", 0, 0},
		{"1d", "1m", "", `{"op":">","value":2.5}`, "avg", "$.v", "", "$.a", "$.b", 10, 0},
		{"24h", "59s", "", "1", "", "", "", "", "", 0, 0},
		{"1441m", "1m", "", "1", "", "", "", "", "", 0, 0},
		{"1500us", "", "1.5ms", "1", "", "", "", "", "", 0, 0},
		{"3650d", "", "3650d", "9007199254740992", "sum", "$.v", "", "", "", 0, 0},
		{"106752d", "1ns", "-1s", "9007199254740993", "min", "$.v", "$.t[", "$.a", "$.a", -1, -1},
		{"", "", "", `{"op":"<=","value":-1e400}`, "count_distinct", "$.u", "", "$['x']", "$.x", 1, 5},
		{"1h", "20m", "0s", "1e3", "max", "$..v", "$.t", "$.a[?@ > 1]", "$.b", 0, 0},
		{"2562047h47m16.854775807s", "1ms", "", "null", "distinct", "$.v", "", "", "", 0, 0},
	} {
		f.Add(s.size, s.every, s.lateness, s.threshold, s.fn, s.aggPath, s.timePath, s.group0, s.group1, s.maxGroups, s.maxDistinct)
	}
	f.Fuzz(func(t *testing.T, size, every, lateness, threshold, fn, aggPath, timePath, group0, group1 string, maxGroups, maxDistinct int64) {
		r := map[string]any{"id": "a", "scope": "*", "when": map[string]any{"path": "$.a"}}
		if json.Valid([]byte(threshold)) {
			r["threshold"] = json.RawMessage(threshold)
		} else {
			r["threshold"] = threshold
		}
		if size != "" || every != "" {
			r["window"] = map[string]string{"size": size, "every": every}
		}
		if lateness != "" {
			r["lateness"] = lateness
		}
		if timePath != "" {
			r["time"] = timePath
		}
		if fn != "" || aggPath != "" {
			r["aggregate"] = map[string]string{"fn": fn, "path": aggPath}
		}
		var groups []string
		for _, g := range []string{group0, group1} {
			if g != "" {
				groups = append(groups, g)
			}
		}
		if groups != nil {
			r["group_by"] = groups
		}
		if maxGroups != 0 || maxDistinct != 0 {
			r["limits"] = map[string]int64{"max_groups": maxGroups, "max_distinct": maxDistinct}
		}
		data, err := json.Marshal(r)
		if err != nil {
			return // threshold is valid JSON but not a value json.RawMessage can carry: no rule to check
		}
		checkParsedRule(t, data)
	})
}

// checkParsedRule parses data as a rule and checks what FuzzParseRule promises.
func checkParsedRule(t *testing.T, data []byte) {
	t.Helper()
	r, err := ParseRule(data)
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
		return
	}
	lim := CurrentLimits()
	enc, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("accepted rule %s does not encode: %v", data, err)
	}
	again, err := ParseRule(enc)
	if err != nil {
		t.Fatalf("accepted rule %s encodes as %s, which is refused: %v", data, enc, err)
	}
	if enc2, _ := json.Marshal(again); string(enc2) != string(enc) {
		t.Fatalf("rule %s encodes as\n%s\nwhich parses to a rule encoded as\n%s", data, enc, enc2)
	}
	if w := r.Window; w != nil {
		if w.Size <= 0 || w.Every <= 0 || w.Size%w.Every != 0 || time.Duration(w.Every)%time.Millisecond != 0 {
			t.Fatalf("accepted window size %v every %v", time.Duration(w.Size), time.Duration(w.Every))
		}
		if o := w.Overlap(); o < 1 || o > int64(lim.MaxWindowOverlap) {
			t.Fatalf("accepted window size %v every %v: overlap %d", time.Duration(w.Size), time.Duration(w.Every), o)
		}
	} else if r.Time != "" || r.Lateness != 0 {
		t.Fatalf("accepted time %q lateness %v without window", r.Time, time.Duration(r.Lateness))
	}
	th := r.Threshold
	if math.IsNaN(th.Value) || math.Abs(th.Value) > MaxSafeInteger || !thresholdOps[th.Op] {
		t.Fatalf("accepted threshold %s", th)
	}
	if r.Plain() && (th.Value < 1 || th.Value != math.Trunc(th.Value)) {
		t.Fatalf("accepted plain count threshold %s", th)
	}
	if len(r.GroupBy) > lim.MaxGroupBy || len(r.GroupPaths()) != len(r.GroupBy) {
		t.Fatalf("accepted group_by %q (%d compiled)", r.GroupBy, len(r.GroupPaths()))
	}
	for i, g := range r.GroupBy {
		if slices.Contains(r.GroupBy[:i], g) {
			t.Fatalf("accepted group_by %q with %s twice", r.GroupBy, strconv.Quote(g))
		}
	}
	if (r.AggregatePath() == nil) != (r.Aggregate.Fn == AggCount) || !aggFns[r.Aggregate.Fn] {
		t.Fatalf("accepted aggregate %+v", r.Aggregate)
	}
	if l := r.Limits; l != nil && (l.MaxGroups < 0 || l.MaxDistinct < 0 || l.MaxDistinct > 0 && r.Aggregate.Fn != AggCountDistinct) {
		t.Fatalf("accepted limits %+v for %s", *l, r.Aggregate.Fn)
	}
}
