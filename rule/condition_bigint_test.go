package rule

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestConditionIntegerBeyond2To53IsNotAnotherOne: a threshold or version beyond 2^53
// is refused, "the largest integer JSON numbers hold exactly everywhere", but a
// condition's value is taken through float64 and kept: a rule on account
// 9007199254740993 (or an in list of 64-bit ids) matches the events of account
// 9007199254740992, its neighbour, and "!=" says they are equal. Either the rule is
// refused with a problem on its value, or it tells the two apart.
func TestConditionIntegerBeyond2To53IsNotAnotherOne(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		when  string
		event string
		want  bool // the verdict on event, if the rule is accepted
	}{
		{`{"path":"$.account","op":"==","value":9007199254740993}`, `{"account":9007199254740992}`, false},
		{`{"path":"$.account","op":"!=","value":9007199254740993}`, `{"account":9007199254740992}`, true},
		{`{"path":"$.account","op":"in","value":[1234567890123456789]}`, `{"account":1234567890123456800}`, false},
		{`{"path":"$.ids","op":"contains","value":1234567890123456789}`, `{"ids":[1234567890123456800]}`, false},
	} {
		js := fmt.Sprintf(`{"id":"a","scope":"*","when":%s,"threshold":1}`, tc.when)
		r, err := ParseRule([]byte(js))
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "when.value" {
				t.Errorf("%s: refused with %v; want a problem on when.value", tc.when, err)
			}
			continue
		}
		doc := jsonpath.NewDocument()
		if err := doc.Reset([]byte(tc.event)); err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(doc); got != tc.want {
			t.Errorf("rule when %s on %s: matches %v, want %v (or the rule refused): the value was rounded to a float64", tc.when, tc.event, got, tc.want)
		}
	}
}

// A number written with a fraction or an exponent, in either case, claims no exactness:
// it is kept whatever its size, while the same digits as an integer are refused.
func TestConditionNumberWithExponentOrFractionIsKept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{`12345678901234567890E0`, true},
		{`12345678901234567890e0`, true},
		{`12345678901234567890.5`, true},
		{`-12345678901234567890E+0`, true},
		{`9007199254740992`, true},
		{`-9007199254740992`, true},
		{`12345678901234567890`, false},
		{`-9007199254740993`, false},
	} {
		js := fmt.Sprintf(`{"id":"a","scope":"*","when":{"path":"$.x","op":">","value":%s},"threshold":1}`, tc.value)
		if _, err := ParseRule([]byte(js)); (err == nil) != tc.ok {
			t.Errorf("value %s: ParseRule error %v; want accepted %v", tc.value, err, tc.ok)
		}
	}
}
