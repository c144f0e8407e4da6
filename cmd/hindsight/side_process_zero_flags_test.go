package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSideProcessZeroLimitFlags: README, "Limits": "0 is the default where the help
// says so" (TestLakeCompactZeroFlags held lake compact to it, and live's --http-… flags
// say "0: the default"). hindsight archive and hindsight notify take 0 for the default
// on these limit flags, so each one's help must say so (it did not: --max-hour-splits
// said only "negative: no bound", so 0 read as no split at all), and a process given 0
// for each must run with, and show in /metrics, the default its help gives.
func TestSideProcessZeroLimitFlags(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	side := []struct{ flag, limit string }{
		{"http-max-connections", "http_max_connections"},
		{"http-max-header-bytes", "http_max_header_bytes"},
		{"http-read-timeout", "http_read_timeout_seconds"},
		{"http-write-timeout", "http_write_timeout_seconds"},
		{"http-idle-timeout", "http_idle_timeout_seconds"},
		{"http-read-header-timeout", "http_read_header_timeout_seconds"},
	}
	for _, proc := range []struct {
		cmd    string
		args   []string
		listen *regexp.Regexp
		flags  []struct{ flag, limit string }
	}{
		{"archive", []string{"--lake", "file://" + t.TempDir(), "--metrics-addr", "127.0.0.1:0"}, regexp.MustCompile(`msg="metrics listening" addr=(\S+)`),
			append([]struct{ flag, limit string }{
				{"max-buffered-bytes", "archive_max_buffered_bytes"},
				{"max-hour-splits", "archive_max_hour_splits"},
			}, side...)},
		{"notify", []string{"--http", "127.0.0.1:0"}, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`),
			append([]struct{ flag, limit string }{
				{"notify-queue-size", "notify_queue_size"},
				{"notify-max-pending", "notify_max_pending"},
				{"notify-max-open-firings", "notify_max_open_firings"},
				{"notify-remember-for", "notify_remember_for_seconds"},
				{"notify-recent", "notify_recent"},
				{"notify-undelivered-waiting", "notify_undelivered_waiting"},
				{"notify-max-secret-bytes", "notify_max_secret_bytes"},
				{"notify-concurrency", "notify_concurrency"},
			}, side...)},
	} {
		t.Run(proc.cmd, func(t *testing.T) {
			cmd, _, err := newRootCmd().Find([]string{proc.cmd})
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{proc.cmd, "--brokers", b.Addr}, proc.args...)
			for _, f := range proc.flags {
				fl := cmd.Flags().Lookup(f.flag)
				if fl == nil {
					t.Fatalf("hindsight %s has no --%s", proc.cmd, f.flag)
				}
				if !strings.Contains(fl.Usage, "0: the default") {
					t.Errorf("--%s takes 0 for its default but its help does not say so: %q", f.flag, fl.Usage)
				}
				zero := "0"
				if fl.Value.Type() == "duration" {
					zero = "0s"
				}
				args = append(args, "--"+f.flag+"="+zero)
			}
			_, lines := startBinary(t, args...)
			var logged []string
			got := waitLine(t, lines, proc.listen, &logged)
			// The archiver shows its limits once it has opened the lake: wait (bounded)
			// until every limit of the table is shown.
			var metrics string
			poll.Within(30*time.Second, func() bool {
				metrics = livetest.GetText(t, "http://"+got+"/metrics")
				return !slices.ContainsFunc(proc.flags, func(f struct{ flag, limit string }) bool {
					return !strings.Contains(metrics, fmt.Sprintf(`hindsight_limit{name=%q}`, f.limit))
				})
			})
			for _, f := range proc.flags {
				def := cmd.Flags().Lookup(f.flag).DefValue
				want, err := strconv.ParseFloat(def, 64)
				if d, derr := time.ParseDuration(def); derr == nil {
					want, err = d.Seconds(), nil
				}
				if err != nil {
					t.Fatalf("--%s's default %q: %v", f.flag, def, err)
				}
				m := regexp.MustCompile(`(?m)^hindsight_limit\{name="` + f.limit + `"\} (\S+)$`).FindStringSubmatch(metrics)
				if m == nil {
					t.Errorf("hindsight %s /metrics shows no hindsight_limit{name=%q}", proc.cmd, f.limit)
					continue
				}
				if shown, err := strconv.ParseFloat(m[1], 64); err != nil || shown != want {
					t.Errorf("hindsight %s --%s=0 (help: 0 is the default, %s) runs with %s=%s, not the default", proc.cmd, f.flag, def, f.limit, m[1])
				}
			}
		})
	}
}
