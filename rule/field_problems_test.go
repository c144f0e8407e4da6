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
		err := parseAs(name, data)
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

// A lateness that is not a duration is a problem of lateness, whatever else is wrong
// with the rule: an alert that is not an object must not turn it into a problem of
// lookback, a field the rule does not even have.
func TestLatenessNamedWhenAlertIsNotAnObject(t *testing.T) {
	for name, data := range map[string][]byte{
		"control": []byte(`{"id":"a","scope":"*","when":{"path":"$.a"},"aggregate":{"fn":"count"},"window":{"size":"1h"},"threshold":3,"lateness":"5x","alert":5}`),
		"file":    []byte("- id: a\n  scope: \"*\"\n  when: {path: $.a}\n  aggregate: {fn: count}\n  window: {size: 1h}\n  threshold: 3\n  lateness: 5x\n  alert: 5\n"),
	} {
		err := parseAs(name, data)
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 {
			t.Fatalf("%s: want a validation error, got %v", name, err)
		}
		if got := ve.Problems[0].Field; got != "lateness" {
			t.Errorf("%s: problem names field %q, want lateness: %v", name, got, err)
		}
	}
}

// A threshold's op that is not a string is a problem of the threshold in the rule
// language's words, not the decoder's text with a Go type and a byte index.
func TestThresholdOpOfWrongKind(t *testing.T) {
	_, err := ParseRule([]byte(`{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":{"op":5,"value":3}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "threshold" || ve.Problems[0].Msg != `op is a number; want an operator as a string, such as ">"` {
		t.Errorf("threshold {op: 5}: %v", err)
	}
}

// parseAs parses data as a control's rule (name "control") or as a rules file, and
// returns the error.
func parseAs(name string, data []byte) error {
	if name == "control" {
		_, err := ParseRule(data)
		return err
	}
	_, err := ParseRulesFile("rules.yaml", data)
	return err
}
