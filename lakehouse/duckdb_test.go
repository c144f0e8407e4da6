package lakehouse_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/hindsightdev/hindsight/lakehouse"
)

func sqlList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TestDuckDBReadsTheLake archives through S3, with each codec, fetches the files into
// a local cache as backfill does, and has DuckDB's read_parquet return exactly the
// produced rows from files of that codec; then checks that pruning by customer and
// offset never drops a matching row.
func TestDuckDBReadsTheLake(t *testing.T) {
	t.Parallel()
	for _, codec := range []string{lakehouse.CompressionZstd, lakehouse.CompressionSnappy} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
			testDuckDBReadsTheLake(t, codec)
		})
	}
}

func testDuckDBReadsTheLake(t *testing.T, codec string) {
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 4, "s3")
	cfg := archiverConfig(b, bkt, "duck")
	cfg.Compression = codec
	// 6,000 events; under -short 2,400, still several files per partition for the
	// offset pruning to leave some out, for 40% of the rows to archive and read back.
	events := 6000
	if testing.Short() {
		events = 2400
	}
	h, snap := archiveEvents(t, b, lake, cfg, 77, events)
	t.Logf("%d files", len(snap.Files(lakehouse.Filter{})))
	cache := t.TempDir()
	fetch := func(files []lakehouse.FileEntry) []string {
		var paths []string
		for _, f := range files {
			p, err := lake.Fetch(ctx, f, cache)
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		return paths
	}
	all := fetch(snap.Files(lakehouse.Filter{}))

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT "partition", "offset", customer, payload, epoch_us(event_time), typeof(event_time)
		FROM read_parquet(`+sqlList(all)+`)`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[pOff]bool{}
	n := 0
	for rows.Next() {
		var p int32
		var off, us int64
		var cust, payload, typ string
		if err := rows.Scan(&p, &off, &cust, &payload, &us, &typ); err != nil {
			t.Fatal(err)
		}
		n++
		k := pOff{p, off}
		want, ok := h.recs[k]
		switch {
		case !ok:
			t.Fatalf("DuckDB returned p%d@%d, never produced", p, off)
		case seen[k]:
			t.Fatalf("DuckDB returned p%d@%d twice", p, off)
		case cust != want.Customer || payload != want.JSON || us != want.Time.UnixMicro():
			t.Fatalf("p%d@%d: DuckDB gave (%s, %d, %.30q), produced (%s, %d, %.30q)", p, off, cust, us, payload, want.Customer, want.Time.UnixMicro(), want.JSON)
		case typ != "TIMESTAMP WITH TIME ZONE":
			t.Fatalf("event_time is %s in DuckDB", typ)
		}
		seen[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(h.recs) {
		t.Fatalf("DuckDB returned %d rows, %d were produced", n, len(h.recs))
	}

	var codecs []string
	crows, err := db.QueryContext(ctx, `SELECT DISTINCT compression FROM parquet_metadata(`+sqlList(all)+`)`)
	if err != nil {
		t.Fatal(err)
	}
	for crows.Next() {
		var c string
		if err := crows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		codecs = append(codecs, strings.ToLower(c))
	}
	if err := crows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(codecs, []string{codec}) {
		t.Errorf("the files' column chunks are compressed with %v, want only %s", codecs, codec)
	}

	// DuckDB sees the row-group statistics it prunes with.
	var withStats int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM parquet_metadata(`+sqlList(all[:1])+`)
		WHERE path_in_schema = 'customer' AND stats_min_value IS NOT NULL`).Scan(&withStats); err != nil {
		t.Fatal(err)
	}
	if withStats == 0 {
		t.Error("no customer statistics visible to DuckDB")
	}

	// Pruned reads: one customer, and a hand-off that stops each partition mid-way.
	want := map[string]int{}
	for _, r := range h.recs {
		want[r.Customer]++
	}
	cust := "c-0001"
	pruned := snap.Files(lakehouse.Filter{Customer: cust})
	if len(pruned) == 0 || len(pruned) >= len(all) {
		t.Logf("customer pruning kept %d of %d files", len(pruned), len(all))
	}
	var got int
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM read_parquet(%s) WHERE customer = '%s'`, sqlList(fetch(pruned)), cust)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want[cust] {
		t.Errorf("customer %s: %d rows from pruned files, %d produced", cust, got, want[cust])
	}
	maxOff := map[int32]int64{}
	for p, e := range h.ends() {
		maxOff[p] = e / 2
	}
	handoff := snap.Files(lakehouse.Filter{MaxOffset: maxOff})
	if len(handoff) >= len(all) {
		t.Errorf("offset pruning kept all %d files", len(all))
	}
	for p, hi := range maxOff {
		wantN := 0
		for k := range h.recs {
			if k.p == p && k.o <= hi {
				wantN++
			}
		}
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM read_parquet(%s) WHERE "partition" = %d AND "offset" <= %d`,
			sqlList(fetch(handoff)), p, hi)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != wantN {
			t.Errorf("partition %d offsets <= %d: %d rows from pruned files, %d produced", p, hi, got, wantN)
		}
	}
}
