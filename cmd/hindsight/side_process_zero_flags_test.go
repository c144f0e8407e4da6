package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSideProcessZeroLimitFlags: README, "Limits": "0 is the default where the help
// says so" (TestLakeCompactZeroFlags held lake compact to it, and live's --http-… flags
// say "0: the default"). hindsight archive and hindsight notify take limit flags whose
// help gives 0 no meaning (--max-hour-splits even says "negative: no bound", so 0 reads
// as no split at all), yet 0 is silently taken for the default: the limit in force, and
// in /metrics, is not the one given, with no error. Each flag given 0 must either be
// refused (exit 2) or be the limit shown in /metrics.
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
				if strings.Contains(fl.Usage, "0:") || strings.Contains(fl.Usage, "0 or") {
					t.Fatalf("--%s's help now says what 0 is (%q): drop it from the table", f.flag, fl.Usage)
				}
				zero := "0"
				if fl.Value.Type() == "duration" {
					zero = "0s"
				}
				args = append(args, "--"+f.flag+"="+zero)
			}
			p, lines := startBinary(t, args...)
			var logged []string
			re := regexp.MustCompile(proc.listen.String() + `|^(hindsight: .*)`)
			got := waitLine(t, lines, re, &logged)
			if strings.HasPrefix(logged[len(logged)-1], "hindsight: ") {
				_ = p.Wait()
				if p.ProcessState.ExitCode() == 2 {
					return // refused: fine
				}
				t.Fatalf("hindsight %s exited %d: %s", proc.cmd, p.ProcessState.ExitCode(), logged[len(logged)-1])
			}
			// The archiver shows its limits once it has opened the lake: wait (bounded)
			// until every limit of the table is shown.
			var metrics string
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				metrics = livetest.GetText(t, "http://"+got+"/metrics")
				if !slices.ContainsFunc(proc.flags, func(f struct{ flag, limit string }) bool {
					return !strings.Contains(metrics, fmt.Sprintf(`hindsight_limit{name=%q}`, f.limit))
				}) {
					break
				}
			}
			for _, f := range proc.flags {
				want := fmt.Sprintf(`hindsight_limit{name=%q} 0`, f.limit)
				if !strings.Contains(metrics, want+"\n") {
					t.Errorf("hindsight %s --%s=0 (help %q says nothing of 0) was taken, no error, and /metrics shows %s, not 0: 0 silently became the default",
						proc.cmd, f.flag, cmd.Flags().Lookup(f.flag).Usage, strings.TrimSpace(grepLines(metrics, `hindsight_limit{name="`+f.limit+`"}`)))
				}
			}
		})
	}
}
