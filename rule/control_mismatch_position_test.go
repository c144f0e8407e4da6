package rule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestControlMismatchPointsAtItsValue: a value of the wrong kind outside a rule (the
// control's op, a mute's or destination's field) is refused with sonic's message,
// "Mismatch type string with value number at index N", naming no field: N must then be
// where the value is. When a nested object follows the value (the rule after "op", the
// mute's other members after its "id"), N is the end of that object instead: a
// control written by hand with kcat is refused pointing at its closing braces. A
// problem on the field (as a rule's mismatches get, TestMismatchIsAPositionedProblem)
// or the value's own index would do.
func TestControlMismatchPointsAtItsValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text, at string // at: the text the bad value starts at (its last byte is the value)
		fields         []string
	}{
		{"op before a rule", `{"op":5,"rule":{"id":"r1","scope":"*","when":{"path":"$.type"},"threshold":5}}`, `"op":5`, []string{"op"}},
		{"op alone", `{"op":5,"scope":"*","id":"r1"}`, `"op":5`, []string{"op"}},
		{"mute id", `{"op":"upsert","mute":{"scope":"*","id":5,"rule":"*","until":"2026-01-01T00:00:00Z","reason":"x"}}`, `"id":5`, []string{"id", "mute.id"}},
		{"destination name", `{"op":"upsert","destination":{"scope":"*","name":5,"type":"webhook","url":"https://x.example.com"}}`, `"name":5`, []string{"name", "destination.name"}},
		{"delete scope", `{"op":"delete","scope":5,"id":"r1"}`, `"scope":5`, []string{"scope"}},
		{"delete kind", `{"op":"delete","kind":true,"scope":"*","id":"r1"}`, `"kind":true`, []string{"kind"}},
		{"mute until", `{"op":"upsert","mute":{"scope":"*","id":"m1","until":5,"rule":"*"}}`, `"until":5`, []string{"until", "mute.until"}},
		{"destination secret", `{"op":"upsert","destination":{"scope":"*","name":"d1","type":"webhook","url":"https://x.example.com","secret":"s"}}`, `"secret":"s"`, []string{"secret", "destination.secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseControl([]byte(tc.text))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: %v, want it refused", tc.text, err)
			}
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					for _, f := range tc.fields {
						if p.Field == f {
							return
						}
					}
				}
			}
			at := strings.Index(tc.text, tc.at) + len(tc.at) - 1
			if !strings.Contains(err.Error(), fmt.Sprintf("at index %d:", at)) {
				t.Errorf("%s:\n  %v\nwant a problem on %s, or the position of its value (index %d)", tc.text, err, strings.Join(tc.fields, " or "), at)
			}
		})
	}
}
