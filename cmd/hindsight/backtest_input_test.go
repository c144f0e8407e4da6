package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// handWrittenLake writes a real lake by hand (no Kafka): one partition, one checked file of
// rows (offsets 0…), listed by manifest v1. It returns the lake's URL.
func handWrittenLake(t *testing.T, rows []lakehouse.Row) string {
	t.Helper()
	ctx := context.Background()
	bkt, dir := lakehousetest.FileBucket(t)
	for i := range rows {
		rows[i].Partition, rows[i].Offset = 0, int64(i)
		if rows[i].IngestTime.IsZero() {
			rows[i].IngestTime = time.Now().UTC()
		}
	}
	data, e, err := lakehouse.EncodeRows(0, 0, rows, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	e.Path = fmt.Sprintf("data/p=0000/h=%s/%020d-%020d-0a1b2c3d.parquet", rows[0].EventTime.UTC().Format("2006-01-02T15"), e.StartOffset, e.EndOffset)
	e.Bytes = int64(len(data))
	e.Created = time.Now().UTC()
	if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "test",
		Partitions: []lakehouse.PartitionState{{Partition: 0, Watermark: e.EndOffset, Earliest: 0, EarliestTime: e.MinTime}},
		Files:      []lakehouse.FileEntry{e}}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(mj)); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir
}

const anyEventRule = "- {id: any-event, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n"

func rowsAt(times ...time.Time) []lakehouse.Row {
	var rows []lakehouse.Row
	for i, at := range times {
		rows = append(rows, lakehouse.Row{EventTime: at, Customer: fmt.Sprintf("c%d", i), Payload: `{"type":"login"}`})
	}
	return rows
}

// TestBacktestToOfYearOneIsAnEmptyRange: --to is "record time read up to, excluded":
// a --to of 0001-01-01 (the zero time.Time) is an empty range with any --from after
// it, refused as "--from 2026-11-24 --to 2026-11-23" is. It was taken for "no --to":
// the backtest ran over everything from --from on.
func TestBacktestToOfYearOneIsAnEmptyRange(t *testing.T) {
	t.Parallel()
	url := handWrittenLake(t, rowsAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC)))
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, rules, anyEventRule)
	for _, to := range []string{"0001-01-01", "0001-01-01T00:00:00Z"} {
		out, err := run(t, "", "backtest", "-f", rules, "--lake", url, "--brokers", "", "--json", "--from", "2026-01-01", "--to", to)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "the time range is empty") {
			t.Errorf("--from 2026-01-01 --to %s: exit %d, err %v; want exit 2, the time range is empty\n%.600s", to, exitCode(err), err, out)
		}
	}
}

// TestBacktestOutKeepsTheRulesFile: --out must not clobber the rules file the backtest
// reads: neither as the report (--out RULES) nor as its chart (RULES is NAME.svg
// beside --out NAME.json), which the command also removes when nothing fired.
func TestBacktestOutKeepsTheRulesFile(t *testing.T) {
	t.Parallel()
	url := handWrittenLake(t, rowsAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)))
	for _, tc := range []struct{ name, rules, out string }{
		{"report over the rules", "rules.yaml", "rules.yaml"},
		{"chart over the rules", "bt.svg", "bt.json"},
	} {
		dir := t.TempDir()
		rules := filepath.Join(dir, tc.rules)
		// never fires: the chart path is removed, not drawn
		text := "- {id: never, scope: \"*\", threshold: 1, when: {path: $.no_such_field, op: exists}}\n"
		writeFile(t, rules, text)
		out, err := run(t, "", "backtest", "-f", rules, "--lake", url, "--brokers", "", "--out", filepath.Join(dir, tc.out))
		got, rerr := os.ReadFile(rules)
		if rerr != nil || string(got) != text {
			t.Errorf("%s: backtest -f %s --out %s (err %v): the rules file is now %q (read error %v)\n%.400s",
				tc.name, tc.rules, tc.out, err, got, rerr, out)
		}
		if err == nil {
			t.Errorf("%s: backtest -f %s --out %s succeeded; want a usage error naming the clash", tc.name, tc.rules, tc.out)
		}
	}
}

// TestBacktestCustomerIsChecked: `backtest --customer` checks the customer as live
// checks a record key (verdict.CheckCustomer: present, at most --max-customer-bytes,
// UTF-8), as `rules test --customer` does. It did not: a customer id live would
// dead-letter was searched for, found nowhere, and the report said 0 events and no
// firing, as for a customer who sent nothing.
func TestBacktestCustomerIsChecked(t *testing.T) {
	t.Parallel()
	url := handWrittenLake(t, rowsAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)))
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, rules, anyEventRule)
	for name, c := range map[string]string{"too long": strings.Repeat("c", 1025), "not UTF-8": "c\xff"} {
		out, err := run(t, "", "backtest", "-f", rules, "--lake", url, "--brokers", "", "--customer", c)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("--customer %s: exit %d, err %v; want exit 2 saying live would not take that customer\n%.300s", name, exitCode(err), err, out)
		}
	}
}
