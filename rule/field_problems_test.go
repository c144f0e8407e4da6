package rule

import (
	"errors"
	"testing"
)

// An alert.suppress that is not a duration is a problem of alert.suppress, not of
// lookback (which the rule does not even have).
func TestSuppressDurationNamesItsField(t *testing.T) {
	cases := map[string][]byte{
		"control": []byte(`{"id":"a","scope":"*","when":{"path":"$.a"},"window":{"size":"10m"},"threshold":3,"alert":{"suppress":"30mins"}}`),
		"file":    []byte("- id: a\n  scope: \"*\"\n  when: {path: $.a}\n  window: {size: 10m}\n  threshold: 3\n  alert: {suppress: 30mins}\n"),
	}
	for name, data := range cases {
		var err error
		if name == "control" {
			_, err = ParseRule(data)
		} else {
			_, err = ParseRulesFile("rules.yaml", data)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 {
			t.Fatalf("%s: want one problem, got %v", name, err)
		}
		if got := ve.Problems[0].Field; got != "alert.suppress" {
			t.Errorf("%s: problem names field %q, want alert.suppress: %v", name, got, err)
		}
	}
}

// A window, or one of its durations, of the wrong kind of JSON value is a problem of
// that field, in the rule language's words, as for every other field (alert.suppress: 5
// is "alert.suppress: is a number; want a string").
func TestWindowOfWrongKindIsAFieldProblem(t *testing.T) {
	for _, tc := range []struct{ window, field string }{
		{`"10m"`, "window"},             // YAML: window: 10m
		{`{"size":600}`, "window.size"}, // YAML: window: {size: 600}
		{`{"size":"1m","every":5}`, "window.every"},
	} {
		_, err := ParseRule([]byte(`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":3,"window":` + tc.window + `}`))
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tc.field {
			t.Errorf("window %s: want one problem of field %s, got %T: %v", tc.window, tc.field, err, err)
		}
	}
}

// Field names are case-sensitive, as JSON keys are: "Threshold" or "ID" is no field of
// a rule, and unknown fields are an error (docs/architecture.md, Control record). The
// decoder matched them case-insensitively: the control below became rule "b" with
// threshold 1, while the same keys in a rules file kept threshold 3. A threshold's
// {op, value} is read the same way.
func TestMiscasedFieldIsUnknown(t *testing.T) {
	for _, data := range []string{
		`{"id":"a","scope":"*","when":{"path":"$.a"},"Threshold":3}`,
		`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":3,"Threshold":1,"ID":"b"}`,
		`{"id":"a","scope":"*","when":{"Path":"$.a"},"threshold":3}`,
		`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":{"Op":">","Value":3}}`,
	} {
		r, err := ParseRule([]byte(data))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: accepted as id %q threshold %s; want an unknown-field error", data, r.ID, r.Threshold)
		}
	}
	_, err := ParseRulesFile("rules.yaml", []byte("- id: a\n  scope: \"*\"\n  when: {path: $.a}\n  threshold: 3\n  Threshold: 1\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("rules file with threshold and Threshold accepted; want an unknown-field error")
	}
}
