package rulecheck_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestCompareAlerts: listed alerts match raised ones one to one, on the fields they
// give; group values compare as JSON values.
func TestCompareAlerts(t *testing.T) {
	at := func(s string) *time.Time {
		tm, _ := time.Parse(time.RFC3339, s)
		return &tm
	}
	num := func(f float64) *float64 { return &f }
	alerts := []contract.Alert{
		{Customer: "c-1", Group: map[string]json.RawMessage{"$.u": []byte(`"a"`), "$.n": []byte(`1`)}, Value: 3, WindowStart: at("2026-01-01T00:00:00Z"),
			Context: map[string]json.RawMessage{"$.ip": []byte(`"10.0.0.7"`), "$.n": []byte(`2`)}},
		{Customer: "c-1", Group: map[string]json.RawMessage{"$.u": []byte(`"b"`), "$.n": []byte(`{"x":[1,2]}`)}, Value: 10.0 / 3, WindowStart: at("2026-01-01T00:01:00Z")},
	}
	tests := []struct {
		name string
		exp  rule.TestExpect
		want []string // problems, without the file
	}{
		{"count", rule.TestExpect{Alerts: 2, Line: 3}, nil},
		{"wrong count", rule.TestExpect{Alerts: 1, Line: 3}, []string{"f:3: want 1 alert, got 2"}},
		{"any two", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{{}, {}}}, nil},
		// The loose entry comes first: a greedy match would give it alert 1, which the
		// strict entry needs.
		{"loose before strict", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{},
			{Group: map[string]json.RawMessage{"$.u": []byte(`"a"`)}},
		}}, nil},
		{"two entries for one alert", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{Value: num(3.3333333333)},
			{Group: map[string]json.RawMessage{"$.u": []byte(`"b"`)}, Line: 4},
		}}, []string{`f:4: expect.alerts[1] {group: {"$.u":"b"}} matches none of the alerts raised (alert 2 matches, but is expect.alerts[0]'s)`}},
		{"JSON equality of groups", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{Group: map[string]json.RawMessage{"$.n": []byte(`1.0`)}},
			{Group: map[string]json.RawMessage{"$.n": []byte(`{"x": [1, 2.0]}`), "$.u": []byte(`"b"`)}, Value: num(10.0 / 3)},
		}}, nil},
		{"window start", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{WindowStart: at("2026-01-01T00:01:00Z"), Line: 7}, {WindowStart: at("2026-01-01T00:02:00Z"), Line: 8},
		}}, []string{"f:8: expect.alerts[1] {window_start: 2026-01-01T00:02:00Z} matches none of the alerts raised"}},
		{"context", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{Context: map[string]json.RawMessage{"$.n": []byte(`2.0`)}, Line: 7}, {Context: map[string]json.RawMessage{"$.ip": []byte(`"10.0.0.8"`)}, Line: 8},
		}}, []string{`f:8: expect.alerts[1] {context: {"$.ip":"10.0.0.8"}} matches none of the alerts raised`}},
		{"too few listed", rule.TestExpect{Alerts: 1, Line: 5, List: []rule.ExpectedAlert{{Value: num(3)}}},
			[]string{"f:5: want 1 alert, got 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rulecheck.Compare("f", tt.exp, alerts)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// TestRun runs the tests of the rules file the CLI's golden tests use: those its
// comments say pass, pass, with the alerts their expectations list; a test whose
// expectation is wrong fails, saying where.
func TestRun(t *testing.T) {
	f, err := rule.ReadRulesFileTests("../cmd/hindsight/testdata/rules-with-tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tests) < 5 {
		t.Fatalf("%d tests in the file, want its 8", len(f.Tests))
	}
	for _, rt := range f.Tests {
		res := rulecheck.Run(f.Name, rt)
		if len(res.Problems) > 0 {
			t.Errorf("%s/%s: %q", rt.Rule.ID, rt.Name, res.Problems)
		}
		if len(res.Alerts) != rt.Expect.Alerts {
			t.Errorf("%s/%s: %d alerts, want %d", rt.Rule.ID, rt.Name, len(res.Alerts), rt.Expect.Alerts)
		}
		for _, a := range res.Alerts {
			if a.Source != contract.SourceTest || a.Customer != rt.Customer {
				t.Errorf("%s/%s: alert of source %q for %q, want %q for %q", rt.Rule.ID, rt.Name, a.Source, a.Customer, contract.SourceTest, rt.Customer)
			}
		}
	}
	first := *f.Tests[0]
	first.Expect.Alerts++
	want := fmt.Sprintf("%s:%d: want %d alerts, got %d", f.Name, first.Expect.Line, first.Expect.Alerts, first.Expect.Alerts-1)
	// Alone: the work-budget note explains a failure only where an evaluation ran out.
	if got := rulecheck.Run(f.Name, &first).Problems; len(got) != 1 || got[0] != want {
		t.Errorf("a test expecting one alert more: problems %q, want only %q", got, want)
	}
}
