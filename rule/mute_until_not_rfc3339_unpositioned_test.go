package rule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestMuteUntilNotRFC3339IsAPositionedProblem: a mute control whose until is a string
// that is not an RFC 3339 time (a date alone, a time with a space or no zone, a word) is
// the likeliest mistake in writing a mute by hand. It must be refused with a problem on
// until (Kind mute), or at least with the position of its value, as an until of the
// wrong kind is (TestControlMismatchPointsAtItsValue). It is refused with Go's
// "parsing time ..." alone, naming neither the mute nor until, with no position: the
// status carries no problems.
func TestMuteUntilNotRFC3339IsAPositionedProblem(t *testing.T) {
	t.Parallel()
	for _, until := range []string{"2026-12-02", "2026-12-02 10:00:00Z", "2026-12-02T10:00:00", "tomorrow"} {
		t.Run(until, func(t *testing.T) {
			text := fmt.Sprintf(`{"op":"upsert","mute":{"scope":"c-1","id":"deploy","rule":"*","until":%q,"reason":"deploy","by":"ana"}}`, until)
			_, err := ParseControl([]byte(text))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: %v, want it refused", text, err)
			}
			var ve *ValidationError
			positioned := false
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					if p.Field == "until" || p.Field == "mute.until" {
						positioned = true
					}
				}
			}
			at := strings.Index(text, `"until":`) + len(`"until":`)
			if !positioned && !strings.Contains(err.Error(), fmt.Sprintf("index %d", at)) {
				t.Errorf("mute until %q refused with no problem on until nor its position (index %d):\n  %v", until, at, err)
			}
		})
	}
}
