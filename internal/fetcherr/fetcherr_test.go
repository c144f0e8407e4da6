package fetcherr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hindsightdev/hindsight/internal/fetcherr"
)

func TestFatal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		fatal     bool
		recreated bool
		says      string // what the error tells the operator to look at
	}{
		{err: kerr.UnknownTopicID, fatal: true, recreated: true, says: "restart to read it anew"},
		{err: fmt.Errorf("fetch: %w", kerr.UnknownTopicID), fatal: true, recreated: true, says: "restart to read it anew"},
		{err: kerr.TopicAuthorizationFailed, fatal: true, says: "consuming events (partition 3)"},
		{err: kerr.GroupAuthorizationFailed, fatal: true, says: "consuming events (partition 3)"},
		{err: kerr.ClusterAuthorizationFailed, fatal: true, says: "consuming events (partition 3)"},
		{err: kerr.SaslAuthenticationFailed, fatal: true, says: "consuming events (partition 3)"},
		{err: kerr.UnsupportedSaslMechanism, fatal: true, says: "consuming events (partition 3)"},
		{err: kerr.InvalidSessionTimeout, fatal: true, says: "--session-timeout"},
		{err: kerr.FencedInstanceID, fatal: true, says: "--instance-id"},
		{err: kerr.UnknownTopicOrPartition},
		{err: kerr.NotLeaderForPartition},
		{err: kerr.OffsetOutOfRange},
		{err: context.DeadlineExceeded},
	} {
		got := fetcherr.Fatal("events", 3, tc.err)
		if (got != nil) != tc.fatal {
			t.Errorf("Fatal(%v) = %v, want fatal %v", tc.err, got, tc.fatal)
			continue
		}
		if got == nil {
			continue
		}
		if !errors.Is(got, tc.err) || errors.Is(got, fetcherr.ErrTopicRecreated) != tc.recreated {
			t.Errorf("Fatal(%v) = %v: wraps it %v, ErrTopicRecreated %v (want %v)", tc.err, got,
				errors.Is(got, tc.err), errors.Is(got, fetcherr.ErrTopicRecreated), tc.recreated)
		}
		if !strings.Contains(got.Error(), tc.says) {
			t.Errorf("Fatal(%v) = %q, want it to say %q", tc.err, got, tc.says)
		}
	}
}
