package rule

import (
	"errors"
	"slices"
	"testing"
)

// TestMismatchIsAPositionedProblem: a value of the wrong kind for its field is a
// problem on that field, as validation names fields, in the rule language's words,
// whether the rule comes alone or in a control.
func TestMismatchIsAPositionedProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule string
		want Problem
	}{
		{`[1]`, Problem{Field: "rule", Msg: "is a list; a rule is an object"}},
		{`"login"`, Problem{Field: "rule", Msg: "is a string; a rule is an object"}},
		{`7`, Problem{Field: "rule", Msg: "is a number; a rule is an object"}},
		{`{"id":"a","scope":"*","when":5,"threshold":1}`, Problem{Field: "when", Msg: "is a number; want an object"}},
		{`{"id":7,"scope":"*","when":{"path":"$.a"},"threshold":1}`, Problem{Field: "id", Msg: "is a number; want a string"}},
		{`{"id":"a","scope":"*","when":{"all":[{"path":"$.a"},{"path":[5]}]},"threshold":1}`, Problem{Field: "when.all[1].path", Msg: "is a list; want a string"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"group_by":"$.x"}`, Problem{Field: "group_by", Msg: "is a string; want a list"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"alert":{"context":{"a":1}}}`, Problem{Field: "alert.context", Msg: "is an object; want a list"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"alert":[]}`, Problem{Field: "alert", Msg: "is a list; want an object"}},
		{` {"id":"a","scope":"*","when":{"any":[{"path":"$.a"},{"not":{"path":true}}]},"threshold":1}`, Problem{Field: "when.any[1].not.path", Msg: "is a boolean; want a string"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"lookback":5}`, Problem{Field: "lookback", Msg: "is a number; want a string"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"version":1.5}`, Problem{Field: "version", Msg: "is 1.5; want a whole number within range"}},
		{`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"version":[]}`, Problem{Field: "version", Msg: "is a list; want a number"}},
	} {
		for _, text := range []string{tc.rule, `{"op":"upsert","rule":` + tc.rule + `}`} {
			var err error
			if text == tc.rule {
				_, err = ParseRule([]byte(text))
			} else {
				_, err = ParseControl([]byte(text))
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !slices.Equal(ve.Problems, []Problem{tc.want}) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want the problem %v", text, err, tc.want)
			}
		}
	}
}
