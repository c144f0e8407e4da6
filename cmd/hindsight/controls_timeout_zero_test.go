package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestControlsTimeoutZeroSaysWhatItMeans: README, "Limits": "0 is the default where the
// help says so". The controls commands' --timeout ("bound on talking to Kafka (default
// 30s)") took 0 in silence and ran with 30s (rulesConfig.EnsureDefaults): an operator's
// --timeout 0, for "no bound" or by a template's empty value, got neither what was asked
// nor an error. Either the help says what 0 is, or 0 is refused, exit status 2.
func TestControlsTimeoutZeroSaysWhatItMeans(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	for _, path := range [][]string{
		{"rules", "list"},
		{"destinations", "list"},
		{"mutes", "list"},
	} {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			cmd, _, err := newRootCmd().Find(path)
			if err != nil {
				t.Fatal(err)
			}
			fl := cmd.Flags().Lookup("timeout")
			if fl == nil {
				t.Fatalf("%v has no --timeout", path)
			}
			if strings.Contains(fl.Usage, "0:") {
				return // the help says what 0 is
			}
			out, err := run(t, "", append(append([]string{}, path...), "--brokers", b.Addr, "--timeout", "0")...)
			if code := exitCode(err); code != 2 {
				t.Errorf("%v --timeout 0: exit status %d (%v), want 2; its help (%q, default %s) does not say what 0 is\n%s",
					path, code, err, fl.Usage, fl.DefValue, out)
			}
		})
	}
}
