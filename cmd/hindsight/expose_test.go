package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
)

// TestLiveLimitFlagDefaults: each limit's flag defaults to the value live.Config's
// EnsureDefaults gives it, so that --help shows what runs.
func TestLiveLimitFlagDefaults(t *testing.T) {
	t.Parallel()
	def := live.Config{Logger: slog.Default()}
	def.EnsureDefaults()
	f := newLiveCmd().Flags()
	for name, want := range map[string]any{
		"http-max-connections": def.HTTPMaxConnections, "http-read-header-timeout": def.HTTPReadHeaderTimeout,
		"http-read-timeout": def.HTTPReadTimeout, "http-write-timeout": def.HTTPWriteTimeout, "http-idle-timeout": def.HTTPIdleTimeout,
		"http-max-header-bytes": def.HTTPMaxHeaderBytes, "http-max-body-bytes": def.HTTPMaxBodyBytes, "http-max-streams": def.HTTPMaxStreams,
		"http-max-heavy-requests": def.HTTPMaxHeavyRequests, "counts-page-size": def.CountsPageSize, "counts-max-page-size": def.CountsMaxPageSize,
		"preview-timeout": def.PreviewTimeout, "preview-max-scan": def.PreviewMaxScan, "preview-max-bytes": def.PreviewMaxBytes,
		"max-snapshot-age": def.MaxSnapshotAge, "max-archive-lag": def.MaxArchiveLag, "max-consumer-stall": def.MaxConsumerStall, "max-produce-stall": def.MaxProduceStall, "public-read": false, "allowed-hosts": "[]",
		"max-queued-records": def.MaxQueuedRecords, "max-queued-bytes": def.MaxQueuedBytes, "fetch-max-bytes": def.FetchMaxBytes,
		"archive-feed-bytes": def.ArchiveFeedBytes, "max-key-bytes": def.WindowLimits.MaxKeyBytes,
		"storage-timeout": def.StorageTimeout,
	} {
		fl := f.Lookup(name)
		if fl == nil {
			t.Errorf("hindsight live has no --%s", name)
			continue
		}
		if fl.DefValue != fmt.Sprint(want) {
			t.Errorf("--%s defaults to %s, live.Config to %v", name, fl.DefValue, want)
		}
	}
}

// A command line written for an earlier release, with --max-poll-records, still parses.
func TestLiveAcceptsTheRetiredPollFlag(t *testing.T) {
	t.Parallel()
	cmd := newLiveCmd()
	if err := cmd.ParseFlags([]string{"--max-poll-records", "5000"}); err != nil {
		t.Fatalf("--max-poll-records: %v", err)
	}
	if fl := cmd.Flags().Lookup("max-poll-records"); fl == nil || fl.Deprecated == "" {
		t.Error("--max-poll-records is not marked deprecated")
	}
}

// TestLiveExposureFlags: `hindsight live` started with limit and exposure flags serves
// with them: the limits show in /metrics, a Host outside --allowed-hosts is refused,
// and reads need --api-token.
func TestLiveExposureFlags(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	p := startLiveProc(t, dir, "exposed", "--brokers", b.Addr, "--lake", "file://"+filepath.Join(dir, "lake"), "--no-archive",
		"--http-max-connections", "7", "--http-max-streams", "3", "--counts-page-size", "20", "--counts-max-page-size", "50", "--max-snapshot-age", "90s", "--max-queued-records", "5000", "--fetch-max-bytes", "2097152", "--console-stream-backlog", "100",
		"--allowed-hosts", "hindsight.example,proxy.example:8443", "--api-token", "t0ken")
	addr := p.waitHTTP(t)
	get := func(path, host, token string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	poll.Until(t, 30*time.Second, "/healthz", func() bool {
		code, _ := get("/healthz", "", "")
		return code == 200
	})

	code, metrics := get("/metrics", "", "t0ken")
	if code != 200 {
		t.Fatalf("/metrics with the token: %d", code)
	}
	for _, want := range []string{`hindsight_limit{name="http_max_connections"} 7`, `hindsight_limit{name="http_max_streams"} 3`,
		`hindsight_limit{name="counts_max_page_size"} 50`, `hindsight_limit{name="max_snapshot_age_seconds"} 90`,
		`hindsight_limit{name="counts_page_size"} 20`, `hindsight_limit{name="http_max_body_bytes"} 1.048576e+06`, `hindsight_limit{name="http_max_heavy_requests"} 4`,
		`hindsight_limit{name="max_queued_records"} 5000`, `hindsight_limit{name="fetch_max_bytes"} 2.097152e+06`,
		`hindsight_limit_reached_total{name="max_queued_records"}`,
		`hindsight_limit{name="console_stream_backlog"} 100`, `hindsight_limit_reached_total{name="console_stream_backlog"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get("/metrics", "", ""); code != 401 {
		t.Errorf("/metrics without the token: %d %s", code, body)
	}
	for host, want := range map[string]int{"hindsight.example": 200, "proxy.example:8443": 200, "evil.example": 403, "proxy.example:80": 403} {
		if code, body := get("/healthz", host, ""); code != want {
			t.Errorf("Host %s: %d %s, want %d", host, code, body, want)
		}
	}
}
