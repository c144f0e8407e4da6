package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestReadyzWithoutPartitionsListsNone: a process in a group with more members than
// the topic has partitions owns none and is not ready (live/API.md); its /readyz
// answers contract.Readiness with "partitions" a list, empty, as the contract and
// the documented example give it, not null.
func TestReadyzWithoutPartitionsListsNone(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	group := livetest.Group(t)
	first := startHTTPDaemonOn(t, b, func(c *live.Config) { c.Group = group })
	poll.Until(t, 20*time.Second, "the first daemon to own partition 0", func() bool { return len(first.Partitions()) == 1 })
	second := startHTTPDaemonOn(t, b, func(c *live.Config) { c.Group = group })
	var body string
	poll.Until(t, 20*time.Second, "the second daemon to consume, owning no partition", func() bool {
		_, rd := readyz(t, second)
		resp, raw := second.request(t, "GET", "/readyz", "", nil)
		body = raw
		return resp.StatusCode == 503 && len(rd.Reasons) == 1 && strings.Contains(rd.Reasons[0], "no events partition") &&
			len(first.Partitions())+len(second.Partitions()) == 1
	})
	if !strings.Contains(body, `"partitions":[]`) {
		t.Errorf("/readyz of a process owning no partition: %s, want \"partitions\":[]", strings.TrimSpace(body))
	}
	_, health := second.request(t, "GET", "/healthz", "", nil)
	if !strings.Contains(health, `"partitions":[]`) {
		t.Errorf("/healthz of a process owning no partition: %s, want \"partitions\":[]", strings.TrimSpace(health))
	}
}
