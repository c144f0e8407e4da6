package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestNotifyFoldLimitsInMetrics: hindsight notify folds the controls topic itself,
// bounded by its own --max-destinations, --max-mutes and --max-rule-notify (a
// destination past its --max-destinations is no destination there). Those limits are
// the process's, and docs/notifications.md lists them among the limits that "all show
// in /metrics as hindsight_limit{name}": hindsight notify showed none of them (found by
// a review helper).
func TestNotifyFoldLimitsInMetrics(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--max-destinations", "3", "--max-mutes", "5")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)
	metrics := livetest.GetText(t, "http://"+addr+"/metrics")
	for _, w := range []string{
		`hindsight_limit{name="notify_queue_size"} 1000`, // the stage's own: shown
		`hindsight_limit{name="max_destinations"} 3`,
		`hindsight_limit{name="max_mutes"} 5`,
		`hindsight_limit{name="max_rule_notify"} 8`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics of hindsight notify --max-destinations 3 --max-mutes 5 lacks %s", w)
		}
	}
}
