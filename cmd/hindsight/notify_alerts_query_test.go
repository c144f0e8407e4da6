package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// /v1/notify/alerts reads no query parameter: it answers every alert it keeps. It took
// any query as none, so ?limit=5 answered all of them and a misspelled or mangled
// parameter went unnoticed, where every endpoint of hindsight live's API (/v1/state,
// the console's) refuses a parameter it does not read with 400 naming it
// (httpjson.Query).
func TestNotifyAlertsRefusesAQueryItDoesNotRead(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(query string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + addr + "/v1/notify/alerts" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for query, names := range map[string]string{
		"?limit=5":    `"limit"`,
		"?limit=-1":   `"limit"`,
		"?cursor=%zz": `"cursor"`,
		"?x=1&x=2":    `"x"`,
		"?a;b":        "semicolon",
	} {
		code, body := get(query)
		var e struct{ Error string }
		if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, names) {
			t.Errorf("GET /v1/notify/alerts%s: %d %s; want 400 with an error naming %s", query, code, strings.TrimSpace(body), names)
		}
	}
	if code, body := get(""); code != http.StatusOK || !strings.Contains(body, `"alerts"`) {
		t.Errorf("GET /v1/notify/alerts: %d %s; want 200 with the alerts", code, body)
	}
}
