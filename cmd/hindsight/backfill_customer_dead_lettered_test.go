package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBackfillRefusesACustomerLiveDeadLetters: `backtest --customer` refuses a customer
// id live dead-letters (empty is no filter; too long, invalid UTF-8), exit status 2:
// history holds no event of it, and a report of none would read as a customer who sent
// nothing. `backfill --customer` took the same ids and printed a count of 0 for them,
// exit status 0: one input, two verdicts, and the backfill's a silent wrong answer for
// a mistyped (or truncated) customer id.
func TestBackfillRefusesACustomerLiveDeadLetters(t *testing.T) {
	t.Parallel()
	rf := filepath.Join(t.TempDir(), "r.yaml")
	writeFile(t, rf, "rules:\n  - {id: a, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 2}\n")
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c1"), Value: []byte(`{"type":"x"}`), Timestamp: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	recs = b.Produce(t, recs...)
	_, lakeDir := livetest.Archive(t, b, recs)
	for _, tc := range []struct{ name, customer string }{
		{"too long", strings.Repeat("c", 1025)},
		{"invalid UTF-8", "c\xff1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, bterr := run(t, "", "backtest", "-f", rf, "--lake", "file://"+lakeDir, "--brokers", "", "--customer", tc.customer)
			if exitCode(bterr) != 2 {
				t.Fatalf("backtest --customer %q: exit %d (%v), want 2", tc.customer, exitCode(bterr), bterr)
			}
			out, err := run(t, "", "backfill", "-f", rf, "--lake", "file://"+lakeDir, "--brokers", "", "--at", "0:3",
				"--cache-dir", t.TempDir(), "--customer", tc.customer)
			if code := exitCode(err); code != 2 {
				t.Errorf("backfill --customer (%s): exit status %d (%v), want 2 as backtest's (%v)\n%s", tc.name, code, err, bterr, out)
			}
		})
	}
}
