package live

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestHandoffBlockedByLakeDamage: a hand-off job that fails on a lake whose manifests
// are gone or unreadable while its data files remain is shown blocked (retrying alone
// cannot cure it: an operator restores the manifests), as one over a corrupt file is;
// an outage is not.
func TestHandoffBlockedByLakeDamage(t *testing.T) {
	for _, tc := range []struct {
		err     error
		blocked bool
	}{
		{lakehouse.ErrMissingManifests, true},
		{lakehouse.ErrUnreadableManifests, true},
		{lakehouse.ErrCorrupt, true},
		{backfill.ErrUnreadableFile, true},
		{fmt.Errorf("dial tcp 127.0.0.1:9: connection refused"), false},
	} {
		err := fmt.Errorf("backfill: reading the lake: %w", tc.err)
		if got := retryCannotCure(err); got != tc.blocked {
			t.Errorf("%v: blocked %v, want %v", err, got, tc.blocked)
		}
	}
}
