package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBacktestFromOutsideYears0To9999: --from and --to are read with time.Parse, which
// takes an offset that carries the time out of years 0000..9999 in UTC
// (0000-01-01T00:00:00+00:01 is year -1). The report carries from/to as RFC 3339
// (contract.Backtest): the time must be refused with a clear usage error, or the
// report must still be JSON that reads back; never an exit 0 with a report no JSON
// reader takes, nor an internal error after the whole run.
func TestBacktestFromOutsideYears0To9999(t *testing.T) {
	t.Parallel()
	url := handWrittenLake(t, rowsAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC)))
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, rules, anyEventRule)
	for _, args := range [][]string{
		{"--from", "0000-01-01T00:00:00+00:01"},
		{"--from", "2026-01-01", "--to", "9999-12-31T23:30:00-01:00"},
	} {
		out, err := run(t, "", append([]string{"backtest", "-f", rules, "--lake", url, "--brokers", "", "--json"}, args...)...)
		if err != nil {
			if flag := args[len(args)-2]; exitCode(err) != 2 || !strings.Contains(err.Error(), flag+" "+args[len(args)-1]+" is ") {
				t.Errorf("%v: exit %d, err %v; want a usage error (exit 2) naming the flag, or a report\n%.600s", args, exitCode(err), err, out)
			}
			continue
		}
		var rep map[string]any
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Errorf("%v: exit 0, but the report is no JSON: %v\n%.600s", args, jerr, out)
			continue
		}
		var tm struct {
			From *time.Time `json:"from"`
			To   *time.Time `json:"to"`
		}
		if jerr := json.Unmarshal([]byte(out), &tm); jerr != nil {
			t.Errorf("%v: exit 0, but the report's from/to are no RFC 3339 times: %v\nfrom %v to %v", args, jerr, rep["from"], rep["to"])
		}
	}
}
