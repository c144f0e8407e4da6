package rule

import (
	"errors"
	"slices"
	"testing"
)

// TestMismatchDurationWantsAString: a duration field (lookback, lateness) is written
// as text ("1h"); a number there is "is a number; want a string", not the
// self-contradictory "is a number; want a number" that Duration's Go kind (int64)
// gives.
func TestMismatchDurationWantsAString(t *testing.T) {
	t.Parallel()
	text := `{"id":"a","scope":"*","when":{"path":"$.a"},"threshold":1,"lookback":5}`
	want := []Problem{{Field: "lookback", Msg: "is a number; want a string"}}
	_, err := ParseRule([]byte(text))
	var ve *ValidationError
	if !errors.As(err, &ve) || !slices.Equal(ve.Problems, want) {
		t.Errorf("%s: %v, want the problem %v", text, err, want)
	}
}
