package rulecheck_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestDescribeAlertValueIsTheAlertsValue: `rules test` shows a raised alert's value;
// it must be the text the alert record (and a notification body, notify/body.go,
// contract.AppendJSONFloat) carries for the same value, so that a rule's author sees
// one figure. strconv's 'g' switches to exponent form from 21 digits down to 7: a sum
// of 1234567 showed as 1.234567e+06 in rules test, 1234567 in the alert.
func TestDescribeAlertValueIsTheAlertsValue(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{1, 1100, 1234567, 10_000_000, 9007199254740992, 123456.789, 1e20, 1e21, 0.001, 1e-7, 0.1 + 0.2, math.Copysign(0, -1)} {
		a := &contract.Alert{Customer: "c", Aggregate: rule.AggSum, Value: v, Count: 2, Status: contract.StatusFiring}
		rec, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(rec, &fields); err != nil {
			t.Fatal(err)
		}
		want := "  value " + string(fields["value"]) + " "
		if got := rulecheck.DescribeAlert(a); !strings.Contains(got, want) {
			t.Errorf("value %v: rules test shows %q; the alert record's value is %s", v, got, fields["value"])
		}
	}
}
