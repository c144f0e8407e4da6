package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/notify"
)

// TestEveryBoundTakesItsMaximumAndRefusesOneMore: each of the stage's maximums is
// inclusive (the flags' help says "at most"), and each is checked. A mutation hunt
// found --notify-max-open-firings' maximum unchecked by any notify test (the check
// could go), and --notify-recent's and --notify-undelivered-waiting's maximums
// refusable at the maximum itself (> turned >=) unnoticed; TestOptionsOverTheir-
// MaximumAreRefused covers queue size and concurrency so.
func TestEveryBoundTakesItsMaximumAndRefusesOneMore(t *testing.T) {
	for _, tc := range []struct {
		flag     string
		at, over notify.Config
	}{
		{"--notify-max-open-firings", notify.Config{MaxOpenFirings: notify.MaxMaxOpenFirings}, notify.Config{MaxOpenFirings: notify.MaxMaxOpenFirings + 1}},
		{"--notify-recent", notify.Config{Recent: notify.MaxRecent}, notify.Config{Recent: notify.MaxRecent + 1}},
		{"--notify-undelivered-waiting", notify.Config{UndeliveredWaiting: notify.MaxUndeliveredWaiting}, notify.Config{UndeliveredWaiting: notify.MaxUndeliveredWaiting + 1}},
		{"--notify-queue-size", notify.Config{QueueSize: notify.MaxQueueSize}, notify.Config{QueueSize: notify.MaxQueueSize + 1}},
		{"--notify-concurrency", notify.Config{Concurrency: notify.MaxConcurrency}, notify.Config{Concurrency: notify.MaxConcurrency + 1}},
	} {
		tc.at.EnsureDefaults()
		if err := tc.at.ValidateOptions(); err != nil {
			t.Errorf("%s at its maximum: refused: %v", tc.flag, err)
		}
		tc.over.EnsureDefaults()
		if err := tc.over.ValidateOptions(); err == nil || !strings.Contains(err.Error(), "above the maximum") || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s one over its maximum: %v; want refused naming the maximum and %s", tc.flag, err, tc.flag)
		}
	}
}

// TestSenderBackoffMayBeFlat: MaxBackoff equal to InitialBackoff is a flat backoff
// (every wait the same), which Validate takes; only a MaxBackoff below InitialBackoff
// is a mistake. Refusing the equal case went unnoticed by the notify tests.
func TestSenderBackoffMayBeFlat(t *testing.T) {
	flat := notify.SenderConfig{InitialBackoff: time.Second, MaxBackoff: time.Second}
	if err := flat.Validate(); err != nil {
		t.Errorf("InitialBackoff = MaxBackoff = 1s: %v, want accepted", err)
	}
	below := notify.SenderConfig{InitialBackoff: time.Second, MaxBackoff: time.Second - time.Millisecond}
	err := below.Validate()
	if want := "notify: sender config: MaxBackoff (999ms) is below InitialBackoff (1s)"; err == nil || err.Error() != want {
		t.Errorf("MaxBackoff 999ms below InitialBackoff 1s: %v, want %q", err, want)
	}
}
