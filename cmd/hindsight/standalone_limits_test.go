package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// hindsight archive shows its limits (its metrics server's too) in /metrics under the
// names hindsight live gives them, those it counts the reaches of at 0 until they are reached.
func TestArchiveLimitsInMetrics(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "archive", "--brokers", b.Addr, "--lake", "file://"+t.TempDir(), "--metrics-addr", "127.0.0.1:0",
		"--max-buffered-bytes", "134217728", "--retention", "48h", "--memory-limit", "1073741824", "--http-read-timeout", "20s", "--storage-timeout", "45s",
		"--max-decompressed-batch-bytes", "2000000", "--lake-columns", "$.a,$.b", "--lake-max-columns", "1")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="metrics listening" addr=(\S+)`), &logged)
	want := []string{
		`hindsight_limit{name="archive_max_buffered_bytes"} 1.34217728e+08`,
		`hindsight_limit{name="archive_retention_seconds"} 172800`,
		`hindsight_limit{name="memory_limit_bytes"} 1.073741824e+09`,
		`hindsight_limit_reached_total{name="archive_max_buffered_bytes"} 0`,
		`hindsight_limit_reached_total{name="memory_limit_bytes"} 0`,
		`hindsight_limit{name="storage_timeout_seconds"} 45`,
		`hindsight_limit_reached_total{name="storage_timeout_seconds"} 0`,
		`hindsight_limit{name="http_read_timeout_seconds"} 20`,
		`hindsight_limit{name="http_max_connections"} 64`,
		`hindsight_limit_reached_total{name="http_max_connections"} 0`,
		`hindsight_limit{name="max_decompressed_batch_bytes"} 2e+06`,
		`hindsight_limit_reached_total{name="max_decompressed_batch_bytes"} 0`,
		// One of the two --lake-columns paths typed, the other read from the JSON.
		`hindsight_limit{name="lake_max_columns"} 1`,
		`hindsight_limit_reached_total{name="lake_max_columns"} 1`,
		"hindsight_lake_typed_paths 1",
		"hindsight_lake_typed_paths_over_limit 1",
	}
	var metrics string
	// The archiver shows its limits once it has opened the lake.
	if poll.Within(30*time.Second, func() bool {
		metrics = livetest.GetText(t, "http://"+addr+"/metrics")
		return !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(metrics, w) })
	}) {
		return
	}
	for _, w := range want {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	t.Logf("/metrics:\n%s", metrics)
}

// hindsight notify shows the notify stage's limits and its server's as hindsight live does.
func TestNotifyLimitsInMetrics(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--notify-queue-size", "7", "--notify-retry-budget", "90s",
		"--notify-max-pending", "250", "--notify-max-open-firings", "300", "--notify-max-secret-bytes", "4096", "--http-max-connections", "9", "--http-idle-timeout", "45s")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)
	metrics := livetest.GetText(t, "http://"+addr+"/metrics")
	for _, w := range []string{
		`hindsight_limit{name="notify_queue_size"} 7`,
		`hindsight_limit{name="notify_retry_budget_seconds"} 90`,
		`hindsight_limit{name="notify_concurrency"} 4`,
		`hindsight_limit_reached_total{name="notify_queue_size"} 0`,
		`hindsight_limit{name="notify_max_pending"} 250`,
		`hindsight_limit_reached_total{name="notify_max_pending"} 0`,
		`hindsight_limit{name="notify_max_open_firings"} 300`,
		`hindsight_limit_reached_total{name="notify_max_open_firings"} 0`,
		`hindsight_limit{name="notify_max_secret_bytes"} 4096`,
		`hindsight_limit_reached_total{name="notify_max_secret_bytes"} 0`,
		`hindsight_limit{name="http_max_connections"} 9`,
		`hindsight_limit_reached_total{name="http_max_connections"} 0`,
		`hindsight_limit{name="http_idle_timeout_seconds"} 45`,
		`hindsight_limit{name="http_read_header_timeout_seconds"} 10`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

// A record batch of repeated bytes decompresses a thousandfold: live bounds it with
// --max-decompressed-batch-bytes (64 MiB, in hindsight_limit), and "the embedded
// archiver's own reads of the topic stop at the same batch" (README, limits). The
// standalone archiver read the same topic with franz-go's own bound, 1 GiB a batch,
// with no flag to lower it and nothing in /metrics: it takes the same flag now
// (TestArchiveLimitsInMetrics sees it shown; lakehouse's
// TestArchiverStopsAtABatchPastMaxDecompressedBatchBytes, reached).
func TestArchiveTakesMaxDecompressedBatchBytes(t *testing.T) {
	t.Parallel()
	_, err := run(t, "", "archive", "--max-decompressed-batch-bytes", "1000000", "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://"+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no broker answered") {
		t.Errorf("archive --max-decompressed-batch-bytes 1000000: exit %d (%v), want the flag taken (and so the run to reach the broker check)", exitCode(err), err)
	}
	// 0 is the default, as live takes it (a review found archive refused it).
	_, err = run(t, "", "archive", "--max-decompressed-batch-bytes", "0", "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://"+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no broker answered") {
		t.Errorf("archive --max-decompressed-batch-bytes 0: exit %d (%v), want the default taken (and so the run to reach the broker check)", exitCode(err), err)
	}
	_, err = run(t, "", "archive", "--max-decompressed-batch-bytes", "1000", "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://"+t.TempDir())
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--max-decompressed-batch-bytes") {
		t.Errorf("archive --max-decompressed-batch-bytes 1000: exit %d (%v), want 2 naming the flag (no batch of a record of a megabyte could be read)", exitCode(err), err)
	}
}
