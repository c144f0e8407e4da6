package fetcherr_test

import (
	"context"
	"errors"
	"fmt"
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
	}{
		{err: kerr.UnknownTopicID, fatal: true, recreated: true},
		{err: fmt.Errorf("fetch: %w", kerr.UnknownTopicID), fatal: true, recreated: true},
		{err: kerr.TopicAuthorizationFailed, fatal: true},
		{err: kerr.SaslAuthenticationFailed, fatal: true},
		{err: kerr.InvalidSessionTimeout, fatal: true},
		{err: kerr.FencedInstanceID, fatal: true},
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
	}
}
