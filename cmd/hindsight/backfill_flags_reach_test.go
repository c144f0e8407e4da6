package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestBackfillCustomerAndCustomerIDBytesFlagsReachTheRun: backfill's --customer
// ("count only this customer") and --max-customer-ids-bytes were never given by a test
// that counted, so mutants that left --customer out of backfill.Job (every customer
// counted) or --max-customer-ids-bytes out of backfill.Config (the default bound)
// survived. Over a hand-written lake of three customers, --customer beta counts beta
// alone, and --max-customer-ids-bytes 6 holds fewer than the three ids (13 bytes), says
// so, and exits 3.
func TestBackfillCustomerAndCustomerIDBytesFlagsReachTheRun(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var rows []lakehouse.Row
	for i, c := range []string{"alpha", "beta", "alpha", "gamma"} {
		rows = append(rows, lakehouse.Row{EventTime: at.Add(time.Duration(i) * time.Second), Customer: c, Payload: `{"type":"login"}`})
	}
	url := handWrittenLake(t, rows)
	dir := t.TempDir()
	rules := tempFile(t, "rules.yaml", "- {id: all, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n")
	base := []string{"backfill", "--brokers", "", "--lake", url, "-f", rules, "--at", "0:4", "--json"}

	out, err := run(t, "", append(base, "--cache-dir", filepath.Join(dir, "c1"), "--customer", "beta")...)
	if err != nil {
		t.Fatalf("backfill --customer beta: exit %d: %v\n%s", exitCode(err), err, out)
	}
	var got []countRow
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &got); err != nil {
		t.Fatalf("backfill --customer beta: output is not the JSON counts: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Customer != "beta" || got[0].Count != 1 {
		t.Errorf("backfill --customer beta counted %+v, want beta's 1 alone", got)
	}

	out, err = run(t, "", append(base, "--cache-dir", filepath.Join(dir, "c2"), "--max-customer-ids-bytes", "6")...)
	if exitCode(err) != 3 || !strings.Contains(out, "beyond --max-customer-ids-bytes (6) not counted") {
		t.Errorf("backfill --max-customer-ids-bytes 6 over 13 bytes of ids: exit %d (%v), want 3 and the bound said\n%s", exitCode(err), err, out)
	}
}
