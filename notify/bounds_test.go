package notify_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/notify"
)

// TestOptionsOverTheirMaximumAreRefused: every bound the stage allocates by is checked
// before it starts. --notify-queue-size had no maximum: a destination's queue is
// allocated whole at its first alert, and a size it could not allocate panicked the
// loop reading alerts with the stage's lock held, wedging the stage without a word.
func TestOptionsOverTheirMaximumAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  notify.Config
		flag string // "" for a valid config
	}{
		{"queue size at its maximum", notify.Config{QueueSize: notify.MaxQueueSize}, ""},
		{"queue size over it", notify.Config{QueueSize: notify.MaxQueueSize + 1}, "--notify-queue-size"},
		{"queue size unallocatable", notify.Config{QueueSize: 1 << 50}, "--notify-queue-size"},
		{"concurrency at its maximum", notify.Config{Concurrency: notify.MaxConcurrency}, ""},
		{"concurrency over it", notify.Config{Concurrency: notify.MaxConcurrency + 1}, "--notify-concurrency"},
		{"recent over its maximum", notify.Config{Recent: notify.MaxRecent + 1}, "--notify-recent"},
		{"undelivered waiting over its maximum", notify.Config{UndeliveredWaiting: notify.MaxUndeliveredWaiting + 1}, "--notify-undelivered-waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.EnsureDefaults()
			err := tc.cfg.ValidateOptions()
			switch {
			case tc.flag == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.flag != "" && (err == nil || !strings.Contains(err.Error(), "above the maximum") || !strings.Contains(err.Error(), tc.flag)):
				t.Errorf("error %v; want one naming the maximum and %s", err, tc.flag)
			}
		})
	}
}
