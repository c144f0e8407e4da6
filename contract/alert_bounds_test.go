package contract_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestAppendJSONFloatAtTheExponentBounds: encoding/json switches to exponent form below
// 1e-6 and from 1e21 on; the hand-written encoder must switch at the same values, or
// an alert's threshold or value reads differently from what encoding/json writes.
func TestAppendJSONFloatAtTheExponentBounds(t *testing.T) {
	for _, f := range []float64{1e21, -1e21, 999999999999999900000, 1e-6, -1e-6, 9.99e-7, 0} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := contract.AppendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendJSONFloat(%g) = %s; encoding/json writes %s", f, got, want)
		}
	}
}

// TestAlertJSONTimeKeepsYearZeroInItsZone: a time in year 0000 in its own zone is
// within what RFC 3339 writes, though in UTC it falls in year -1; it is written as it
// is (as encoding/json writes it), not moved to the bound.
func TestAlertJSONTimeKeepsYearZeroInItsZone(t *testing.T) {
	at := time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("+01:00", 3600))
	a := contract.Alert{AlertID: "x", EventTime: at, Status: contract.StatusFiring}
	want, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.AppendJSON(nil); string(got) != string(want) {
		t.Errorf("AppendJSON = %s\nencoding/json %s", got, want)
	}
}

// TestAlertCutToFitLeavesACopysCutListsAlone: an alert copied from one whose cut list
// has spare capacity (a decoder leaves some) shares its backing array; cutting the copy
// must not write the original's list through it, nor reorder it.
func TestAlertCutToFitLeavesACopysCutListsAlone(t *testing.T) {
	big := contract.AppendJSONString(nil, strings.Repeat("a", 2000))
	orig := contract.Alert{AlertID: "id", RuleID: "r", Scope: "*", Version: 1, Customer: "c", Status: contract.StatusFiring,
		Context:    map[string]json.RawMessage{"$.a": big, "$.z": json.RawMessage("null")},
		ContextCut: append(make([]string, 0, 4), "$.z")}
	cp := orig
	limit := len(cp.AppendJSON(nil)) - 1000
	if _, fits := cp.CutToFit(limit, func(v []byte) int { return len(v) }); !fits {
		t.Fatalf("the copy does not fit in %d bytes with $.a cut", limit)
	}
	if !slices.Equal(cp.ContextCut, []string{"$.a", "$.z"}) {
		t.Errorf("the copy's context cut = %q; want [$.a $.z]", cp.ContextCut)
	}
	if !slices.Equal(orig.ContextCut, []string{"$.z"}) || !slices.Equal(orig.ContextCut[:2], []string{"$.z", ""}) {
		t.Errorf("the original's context cut = %q (backing %q); want [$.z], its spare capacity untouched", orig.ContextCut, orig.ContextCut[:2])
	}
}

// TestAppendJSONStringKeepsAValidReplacementCharacter: encoding/json writes invalid
// UTF-8 as the escape \ufffd and a valid U+FFFD (three bytes in the string) as itself;
// the hand-written encoder must too, or an alert whose customer holds U+FFFD is
// written differently from what encoding/json writes.
func TestAppendJSONStringKeepsAValidReplacementCharacter(t *testing.T) {
	for _, s := range []string{"a\uFFFDb", "a\xffb", "\uFFFD\xff"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := contract.AppendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("AppendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
}
