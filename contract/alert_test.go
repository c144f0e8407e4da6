package contract_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// FuzzAlertJSON checks the hand-written alert encoder against encoding/json for any
// strings (customer ids are arbitrary Kafka keys), numbers, groups and windows.
func FuzzAlertJSON(f *testing.F) {
	for i, s := range []string{"c-1", "", "quote\"back\\slash", "ctl\x00\x01\b\f\n\r\t\x1f", "<a&b>", "\u2028\u2029é😀", "bad\xffutf8\xc3", "*"} {
		f.Add(s, s, int64(3), int64(1700000000123456789), float64(i)*1.5e-7, uint8(i))
	}
	f.Add("c", "r", int64(1), int64(0), 1.5e21, uint8(9))
	f.Add("c", "r", int64(1), int64(0), -0.000001, uint8(2))
	f.Add("c\"1", "$.actor", int64(2), int64(0), 1.5, uint8(16+8))
	f.Add("c<1>", "ops&pd", int64(3), int64(0), 2.5, uint8(32+16))
	f.Add("c", "r", int64(4), int64(0), 0.5, uint8(64))
	f.Add("c<", "$.n\x01", int64(5), int64(0), 0.5, uint8(128+16+8))
	f.Fuzz(func(t *testing.T, customer, id string, n int64, nanos int64, value float64, shape uint8) {
		if math.IsInf(value, 0) || math.IsNaN(value) {
			return // the evaluator never makes one (window: non-finite numbers do not contribute)
		}
		ops := []rule.Op{rule.OpGe, rule.OpGt, rule.OpLt, rule.OpLe, rule.OpEq}
		a := contract.Alert{AlertID: contract.AlertID("*", id, n, customer, n), RuleID: id, Scope: customer, Version: n,
			Customer: customer, Count: n, Threshold: rule.Threshold{Op: ops[int(shape)%len(ops)], Value: value}, Partition: int32(n), Offset: n * 7,
			EventTime: time.Unix(0, nanos).UTC(), Source: "live", Aggregate: id, Value: value,
			Status: contract.StatusFiring, Severity: rule.Severities[int(shape)%len(rule.Severities)]}
		if shape&8 != 0 {
			group, _ := json.Marshal(customer) // a JSON value as the window package renders it
			a.Group = map[string]json.RawMessage{id: group, "$.b": json.RawMessage(`null`)}
			start := time.Unix(0, nanos).UTC()
			end := start.Add(time.Minute)
			a.WindowStart, a.WindowEnd = &start, &end
		}
		if shape&16 != 0 {
			// A context as window.ContextOf writes it: values canonical and compact.
			a.Context = map[string]json.RawMessage{id: contract.AppendJSONString(nil, customer), "$.n": contract.AppendJSONFloat(nil, value), "$.x": json.RawMessage(`null`)}
		}
		if shape&32 != 0 {
			a.Status, a.Muted, a.Notify = contract.StatusResolved, true, []string{id, customer}
		} else if shape&64 != 0 {
			a.Notify, a.Samples = []string{}, []int64{}
		} else {
			a.Samples = []int64{n, -n, nanos}
		}
		if shape&128 != 0 {
			a.ContextCut, a.GroupCut = []string{id}, []string{"$.b", customer}
		}
		want, err := json.Marshal(a)
		if err != nil { // int64 nanoseconds span 1677–2262: always encodable
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON = %s\nencoding/json %s", got, want)
		}
	})
}

// TestPlainAlertIDUnchanged holds the id of a plain count's crossing to the one every
// earlier build gave it (the example in docs/architecture.md), so that alerts keep
// deduplicating across an upgrade; a windowed crossing's id differs from it and by
// group, window and threshold.
func TestAlertIDs(t *testing.T) {
	if got := contract.AlertID("*", "admin-login-failures", 2, "c-042", 5); got != "4eea7bd5f04ebd8a189b830a5db20b3d" {
		t.Errorf("plain AlertID = %s, want the id earlier builds gave", got)
	}
	ids := map[string]string{}
	for name, id := range map[string]string{
		"plain":           contract.AlertID("*", "r", 1, "c", 5),
		"running total":   contract.WindowAlertID("*", "r", 1, "c", nil, 0, false, rule.AtLeast(5)),
		"window 0":        contract.WindowAlertID("*", "r", 1, "c", nil, 0, true, rule.AtLeast(5)),
		"window 60000":    contract.WindowAlertID("*", "r", 1, "c", nil, 60000, true, rule.AtLeast(5)),
		"group a":         contract.WindowAlertID("*", "r", 1, "c", []byte("sa"), 60000, true, rule.AtLeast(5)),
		"group b":         contract.WindowAlertID("*", "r", 1, "c", []byte("sb"), 60000, true, rule.AtLeast(5)),
		"threshold > 5":   contract.WindowAlertID("*", "r", 1, "c", []byte("sb"), 60000, true, rule.Threshold{Op: rule.OpGt, Value: 5}),
		"threshold > 5.5": contract.WindowAlertID("*", "r", 1, "c", []byte("sb"), 60000, true, rule.Threshold{Op: rule.OpGt, Value: 5.5}),
	} {
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share id %s", name, other, id)
		}
		ids[id] = name
	}
	again := contract.WindowAlertID("*", "r", 1, "c", []byte("sb"), 60000, true, rule.Threshold{Op: rule.OpGt, Value: 5.5})
	if ids[again] != "threshold > 5.5" {
		t.Errorf("WindowAlertID is not deterministic")
	}
	// A threshold without an operator is ">=": one id whichever way the rule says it.
	if a, b := contract.WindowAlertID("*", "r", 1, "c", nil, 0, false, rule.Threshold{Value: 5}), contract.WindowAlertID("*", "r", 1, "c", nil, 0, false, rule.Threshold{Op: rule.OpGe, Value: 5}); a != b {
		t.Errorf("WindowAlertID of threshold 5 without an operator %s, with >= %s; want one id", a, b)
	}
}

// TestAlertCutToFit holds an alert over the size limit to the values it leaves out:
// context before group, the largest first, each listed and null, and no more than
// needed; and to the maps it was given, which stay as they were.
func TestAlertCutToFit(t *testing.T) {
	str := func(n int, c string) json.RawMessage { return contract.AppendJSONString(nil, strings.Repeat(c, n)) }
	base := func() contract.Alert {
		return contract.Alert{AlertID: "id", RuleID: "r", Scope: "*", Version: 1, Customer: "c-1", Count: 1,
			Status: contract.StatusFiring, Severity: "medium",
			Context: map[string]json.RawMessage{"$.big": str(3000, "<"), "$.mid": str(2000, "x"), "$.small": str(10, "y"), "$.none": json.RawMessage("null")},
			Group:   map[string]json.RawMessage{"$.g": str(5000, "g"), "$.h": str(5, "h")}}
	}
	a0 := base()
	whole := len(a0.AppendJSON(nil))
	// The size once the largest context value is cut: a limit of exactly it is met.
	a1 := base()
	a1.Context["$.big"], a1.ContextCut = json.RawMessage("null"), []string{"$.big"}
	bigCut := len(a1.AppendJSON(nil))
	for _, tc := range []struct {
		name                 string
		limit                int
		fits                 bool
		contextCut, groupCut []string
	}{
		{name: "under the limit", limit: whole, fits: true},
		{name: "one value over", limit: whole - 1, fits: true, contextCut: []string{"$.big"}},
		{name: "cutting one value fits exactly", limit: bigCut, fits: true, contextCut: []string{"$.big"}},
		{name: "the largest is not enough", limit: whole - 18_000 - 100, fits: true, contextCut: []string{"$.big", "$.mid"}},
		{name: "the context is not enough", limit: whole - 18_000 - 2000 - 100, fits: true, contextCut: []string{"$.big", "$.mid", "$.small"}, groupCut: []string{"$.g"}},
		{name: "nothing is enough", limit: 200, fits: false, contextCut: []string{"$.big", "$.mid", "$.small"}, groupCut: []string{"$.g", "$.h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base()
			given := a.Context
			b, fits := a.CutToFit(tc.limit, func(v []byte) int { return len(v) })
			if fits != tc.fits || fits && len(b) > tc.limit {
				t.Fatalf("CutToFit(%d) = %d bytes, fits %v; want fits %v", tc.limit, len(b), fits, tc.fits)
			}
			if !slices.Equal(a.ContextCut, tc.contextCut) || !slices.Equal(a.GroupCut, tc.groupCut) {
				t.Fatalf("cut context %q, group %q; want %q, %q", a.ContextCut, a.GroupCut, tc.contextCut, tc.groupCut)
			}
			var back contract.Alert
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("the cut alert is not JSON: %v", err)
			}
			for _, p := range tc.contextCut {
				if string(back.Context[p]) != "null" {
					t.Errorf("context %s = %.20s…, want null (cut)", p, back.Context[p])
				}
			}
			for _, p := range tc.groupCut {
				if string(back.Group[p]) != "null" {
					t.Errorf("group %s = %.20s…, want null (cut)", p, back.Group[p])
				}
			}
			if len(tc.contextCut) < 3 && string(back.Context["$.small"]) != `"`+strings.Repeat("y", 10)+`"` {
				t.Errorf("context $.small = %s, want it kept", back.Context["$.small"])
			}
			if string(given["$.big"]) != string(str(3000, "<")) {
				t.Errorf("the context map the alert was given was changed")
			}
		})
	}
}
