package lakehouse_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiveHoldsWhatLiveEvaluates: the archiver applies the live stage's acceptance
// check (verdict.Accept). Records live dead-letters — no key, a key that is not UTF-8,
// a value that is not JSON (invalid UTF-8, NaN, a trailing comma) or nests too deep —
// get no row, so DuckDB can read every file (a non-UTF-8 customer made it refuse the
// whole file) and backfill counts exactly what live counted; their offsets stay
// covered, so the partition's files are still contiguous up to the last record.
func TestArchiveHoldsWhatLiveEvaluates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "file")
	cfg, reg := meteredArchiverConfig(b, bkt, "verdict")
	bad := []struct{ key, value string }{
		{"", `{"type":"no key"}`},
		{"c-\xff", `{"type":"key not UTF-8"}`},
		{"\xc0\xaf", `{"type":"overlong key"}`},
		{"c-1", "{\"type\":\"value not UTF-8 \xff\"}"},
		{"c-1", "{\"type\":\"overlong \xc0\xaf\"}"},
		{"c-1", `{"n":NaN}`},
		{"c-1", `{"n":1,}`},
		{"c-1", strings.Repeat("[", jsonpath.MaxDepth+1) + strings.Repeat("]", jsonpath.MaxDepth+1)},
		{"c-1", `{"n":1} trailing`},
	}
	// Refused records first (a partition new to the lake starts at its first record,
	// accepted or not), between accepted ones, in runs, and as a file's last records.
	var recs []*kgo.Record
	add := func(key, value string) {
		var k []byte
		if key != "" {
			k = []byte(key)
		}
		recs = append(recs, &kgo.Record{Topic: "events", Key: k, Value: []byte(value), Timestamp: time.UnixMilli(1_700_000_000_000 + int64(len(recs)))})
	}
	for i := range 3 {
		add(bad[i].key, bad[i].value)
	}
	for i := range 60 {
		add(fmt.Sprintf("c-%d", i%4), fmt.Sprintf(`{"i":%d,"type":"ok"}`, i))
		if i%5 == 0 {
			for _, x := range bad[(i/5)%len(bad):] {
				add(x.key, x.value)
			}
		}
	}
	add("c-9", `{"type":"last"}`)
	stop := startArchiver(t, cfg)
	b.Produce(t, recs...)
	end := recs[len(recs)-1].Offset
	waitArchived(t, lake, map[int32]int64{0: end}, 60*time.Second)
	stopArchivers(t, stop)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	doc := jsonpath.NewDocument()
	want := map[int64]string{} // offset → payload of the records live evaluates
	refused := map[string]float64{}
	for _, r := range recs {
		if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason != "" {
			refused[reason]++
			continue
		}
		want[r.Offset] = string(r.Value)
	}
	files := snap.Files(lakehouse.Filter{})
	next := int64(0)
	got := map[int64]string{}
	cache := t.TempDir()
	var local []string
	for _, f := range files {
		if f.StartOffset != next {
			t.Errorf("file %s starts at %d, want %d: coverage has a gap or overlap", f.Path, f.StartOffset, next)
		}
		next = f.EndOffset + 1
		if !f.Checked {
			t.Errorf("file %s is not marked checked", f.Path)
		}
		rows, err := lake.ReadRows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got[r.Offset] = r.Payload
		}
		p, err := lake.Fetch(ctx, f, cache)
		if err != nil {
			t.Fatal(err)
		}
		local = append(local, p)
	}
	if next != end+1 {
		t.Errorf("files cover offsets up to %d, want %d", next-1, end)
	}
	if len(got) != len(want) {
		t.Errorf("lake holds %d rows, live evaluates %d records", len(got), len(want))
	}
	for off, payload := range want {
		if got[off] != payload {
			t.Errorf("offset %d: archived %q, want %q", off, got[off], payload)
		}
	}
	for off := range got {
		if _, ok := want[off]; !ok {
			t.Errorf("offset %d (%.40q) is archived, but live dead-letters it", off, got[off])
		}
	}

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM read_parquet(`+sqlList(local)+`) WHERE customer <> '' AND payload <> ''`).Scan(&n); err != nil {
		t.Fatalf("DuckDB refuses the lake: %v", err)
	}
	if n != int64(len(want)) {
		t.Errorf("DuckDB reads %d rows, want %d", n, len(want))
	}
	for reason, w := range refused {
		if g := promtest.Value(t, reg, "hindsight_lake_records_refused_total", "reason", reason); g != w {
			t.Errorf("records_refused_total{reason=%q} = %v, want %v", reason, g, w)
		}
	}
}
