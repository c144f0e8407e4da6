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
// nor an error. The other commands' timeouts (--notify-timeout, --storage-timeout, the
// --http-*-timeout flags) take 0 for their default and say so: these say it too, and
// run with it.
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
			if !strings.Contains(fl.Usage, "(0: the default)") {
				t.Errorf("%v --timeout's help %q does not say what 0 is, want (0: the default) as the other commands' timeouts", path, fl.Usage)
			}
			out, err := run(t, "", append(append([]string{}, path...), "--brokers", b.Addr, "--timeout", "0")...)
			if err != nil {
				t.Errorf("%v --timeout 0 (the default): %v\n%s", path, err, out)
			}
		})
	}
}
