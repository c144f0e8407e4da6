package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestDestinationsApplyErrorDoesNotQuoteURL: docs/notifications.md: "the webhook's URL
// is its secret, and Hindsight never quotes a destination's URL in errors or logs".
func TestDestinationsApplyErrorDoesNotQuoteURL(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	file := filepath.Join(t.TempDir(), "destinations.yaml")
	writeFile(t, file, `destinations:
  - {scope: "*", name: chan, type: slack, url: "https://hooks.slack.com/services/T000/B000/XSECRETTOKENX\n"}
`)
	out, err := run(t, "", "destinations", "apply", "-f", file, "--brokers", b.Addr)
	if err == nil {
		t.Fatalf("apply: no error\n%s", out)
	}
	if strings.Contains(err.Error()+out, "XSECRETTOKENX") {
		t.Errorf("apply's error quotes the Slack webhook URL's secret token:\n%v\n%s", err, out)
	}
}
