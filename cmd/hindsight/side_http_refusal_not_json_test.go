package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// The side servers (`hindsight notify --http`, `hindsight archive --metrics-addr`)
// answer "as every refusal of theirs is JSON" (README.md, "Exposing Hindsight"), as
// hindsight live answers an unknown path (404) or a known path with another method
// (405): {"error": ...} in application/json. A path they do not serve and a POST to
// /metrics must be refused so, not with net/http's plain-text pages.
func TestSideServersRefusalsAreJSON(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	for _, tc := range []struct {
		args []string
		log  string
	}{
		{[]string{"notify", "--brokers", b.Addr, "--http", "127.0.0.1:0"}, `msg="notify http listening" addr=(\S+)`},
		{[]string{"archive", "--brokers", b.Addr, "--lake", "file://" + t.TempDir(), "--metrics-addr", "127.0.0.1:0"}, `msg="metrics listening" addr=(\S+)`},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			_, lines := startBinary(t, tc.args...)
			var logged []string
			addr := waitLine(t, lines, regexp.MustCompile(tc.log), &logged)
			for _, rq := range []struct {
				method, path string
				want         int
			}{
				{"GET", "/nope", http.StatusNotFound},
				{"GET", "/metrics/", http.StatusNotFound},
				{"POST", "/metrics", http.StatusMethodNotAllowed},
				{"DELETE", "/metrics", http.StatusMethodNotAllowed},
			} {
				req, err := http.NewRequest(rq.method, "http://"+addr+rq.path, strings.NewReader(""))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var e struct {
					Error string `json:"error"`
				}
				decErr := json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				ct := resp.Header.Get("Content-Type")
				if resp.StatusCode != rq.want || !strings.HasPrefix(ct, "application/json") || decErr != nil || e.Error == "" {
					t.Errorf("%s %s: %d, Content-Type %q, body decoded as JSON: %v (error %q); want %d in JSON with an error",
						rq.method, rq.path, resp.StatusCode, ct, decErr, e.Error, rq.want)
				}
			}
		})
	}
}
