package live_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestEndedVersionsLimitCountShownAtZero: max_ended_versions is a limit whose reaches
// are counted (a version forgotten), so its count shows at 0 from the start, as every
// counted limit's (limitmetric.ShowCounted): one that appears only when first reached
// cannot be told apart from a limit nobody counts, and an alert on it sees no series.
func TestEndedVersionsLimitCountShownAtZero(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	for _, name := range []string{rule.LimitRejected, rule.LimitEndedVersions} {
		if w := `hindsight_limit_reached_total{name="` + name + `"} 0`; !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
