package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// `hindsight notify --http` serves /v1/notify/alerts, the latest alerts with their
// customers and context, "the same way" as hindsight live serves its API (README.md,
// "Exposing Hindsight"), whose "JSON answers are Cache-Control: no-store": no browser
// or proxy between keeps a copy of customers' alerts. The answer must say no-store.
func TestNotifyAlertsAnswerIsNotStored(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/v1/notify/alerts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET /v1/notify/alerts: %d %q, want 200 JSON", resp.StatusCode, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET /v1/notify/alerts: Cache-Control %q, want no-store (the answer carries customers' alerts)", cc)
	}
}
