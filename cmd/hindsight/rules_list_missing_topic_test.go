package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// A controls topic the brokers do not have (a typo in --topic-controls, or a cluster
// the daemon never ran on) is said as such when the command gives up: `rules list`
// waited out its --timeout and failed with "ingest: reading controls: context deadline
// exceeded", naming neither the topic nor that it does not exist (only a log line
// before, on stderr, had the broker's UNKNOWN_TOPIC_OR_PARTITION).
func TestRulesListNamesAMissingControlsTopic(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, err := run(t, "", "rules", "list", "--brokers", b.Addr, "--topic-controls", "no-such-controls", "--timeout", "1s")
	if err == nil {
		t.Fatal("rules list on a topic the brokers do not have: exit status 0")
	}
	if msg := err.Error(); !strings.Contains(msg, "no-such-controls") {
		t.Errorf("rules list --topic-controls no-such-controls: error %q does not name the topic", msg)
	} else if !strings.Contains(msg, "do not have it") {
		t.Errorf("rules list --topic-controls no-such-controls: error %q does not say the brokers lack the topic", msg)
	}
}
