package rulecheck_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestDescribeAlertQuotesUntrustedValues: DescribeAlert writes an alert on one line of
// `rules test`'s report, and its customer (any UTF-8 a rules file's test gives, but *,
// newline, CR and tab: an escape sequence, a line separator, a bidi override) and its
// group's and context's values (the events' JSON strings, which may hold a line
// separator or a bidi override raw) were written raw: the line broke, or the escape
// reached the terminal. They are shown as cmd/hindsight's shown does: quoted in Go
// syntax when not printable, JSON with such characters \u-escaped.
func TestDescribeAlertQuotesUntrustedValues(t *testing.T) {
	t.Parallel()
	a := &contract.Alert{Customer: "c2\x1b[2J\u2028--- PASS: forged", Aggregate: rule.AggCount, Value: 1, Status: contract.StatusFiring,
		Group:   map[string]json.RawMessage{"$.u": json.RawMessage("\"g\u202e1\u2028\"")},
		Context: map[string]json.RawMessage{"$.ip": json.RawMessage("\"x\u2029y\"")}}
	got := rulecheck.DescribeAlert(a)
	want := `customer "c2\x1b[2J\u2028--- PASS: forged"  group {"$.u":"g\u202e1\u2028"}  value 1  raised by events[0]  context {"$.ip":"x\u2029y"}`
	if got != want {
		t.Errorf("DescribeAlert:\n got %q\nwant %q", got, want)
	}
	if strings.ContainsAny(got, "\x1b\u2028\u2029\u202e") {
		t.Errorf("DescribeAlert wrote a raw escape, line separator or bidi override: %q", got)
	}
	// Printable values are written as they are.
	a = &contract.Alert{Customer: "acme corp", Aggregate: rule.AggCount, Value: 2, Status: contract.StatusFiring, Offset: 3,
		Group: map[string]json.RawMessage{"$.u": json.RawMessage(`"Zürich"`)}}
	if got, want := rulecheck.DescribeAlert(a), `customer acme corp  group {"$.u":"Zürich"}  value 2  raised by events[3]`; got != want {
		t.Errorf("DescribeAlert:\n got %q\nwant %q", got, want)
	}
}
