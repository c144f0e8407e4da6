package lakehouse_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// typedPaths are the paths TestTypedColumns types: strings, numbers, booleans, an
// object, an array element, a path no event has, and one whose strings hold escapes
// the columns cannot keep.
var typedPaths = []string{"$.type", "$.severity", "$.risk.score", "$.session.mfa", "$.actor.geo",
	"$.actor.roles[0]", "$.nowhere", "$.odd", "$['bytes']"}

// oddEvents exercise the kinds the workload does not produce.
var oddEvents = []string{
	`{"odd":"nul\u0000inside","type":"x"}`,
	`{"odd":"lone \ud800 surrogate","severity":1e400}`,
	`{"odd":"caf\u00e9","severity":-0,"type":"\"quoted\""}`,
	`{"odd":null,"risk":{"score":[1,2]}}`,
	`{"odd":{"a":1},"session":{"mfa":false}}`,
	`{"odd":[],"actor":{"roles":["admin"]}}`,
	`{"odd":12345678901234567890}`,
}

// TestTypedColumns archives events with typed columns, reads every typed column back
// with DuckDB and compares it with what our evaluator selects from the payload, row by
// row; then compacts and checks the merged files keep the columns, value for value.
func TestTypedColumns(t *testing.T) {
	if lakehouse.UnderRace && testing.Short() {
		t.Skip("encoding on one goroutine, nothing for the race detector: the plain pass of make test runs it")
	}
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 2, "mem")
	cfg := archiverConfig(b, bkt, "typed")
	cfg.Columns = lakehouse.NewColumnSet(16)
	if err := cfg.Columns.Set(append(typedPaths, "$..type")); err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Columns.Paths()); got != len(typedPaths) {
		t.Fatalf("the set types %d paths (%v), want %d: the descendant path is not singular", got, cfg.Columns.Paths(), len(typedPaths))
	}
	h := newHistory(31)
	stop := startArchiver(t, cfg)
	cl := b.Client(t)
	h.produce(t, cl, 1500)
	var odd []*kgo.Record
	for i, s := range oddEvents {
		odd = append(odd, &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-odd-%d", i)), Value: []byte(s), Timestamp: time.Now()})
	}
	res := cl.ProduceSync(ctx, odd...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	for _, r := range res {
		h.recs[pOff{r.Record.Partition, r.Record.Offset}] = produced{Partition: r.Record.Partition, Offset: r.Record.Offset,
			Customer: string(r.Record.Key), Time: r.Record.Timestamp, JSON: string(r.Record.Value)}
	}
	h.mu.Unlock()
	snap := archiveAll(t, lake, h, 60*time.Second, stop)
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 4 {
		t.Fatalf("%d files: the test wants several per partition to compact", len(files))
	}
	untyped := checkTyped(t, lake, files, h)
	// The evaluator reads a lone surrogate as U+FFFD, which the column keeps; only the
	// NUL cannot be held.
	if untyped != 1 {
		t.Fatalf("%d rows untyped, want 1 (the NUL)", untyped)
	}

	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, DeleteDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesCompacted == 0 {
		t.Fatalf("maintenance merged nothing: %+v", rep)
	}
	snap, err = lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merged := snap.Files(lakehouse.Filter{})
	if len(merged) >= len(files) {
		t.Fatalf("%d files after compaction, %d before", len(merged), len(files))
	}
	if got := checkTyped(t, lake, merged, h); got != untyped {
		t.Fatalf("compaction: %d rows untyped, %d before", got, untyped)
	}
}

// checkTyped compares every typed column of files with the evaluator's reading of
// each row's payload and returns the rows of kind TypedUntyped.
func checkTyped(t *testing.T, lake *lakehouse.Lake, files []lakehouse.FileEntry, h *history) (untyped int64) {
	t.Helper()
	cache := t.TempDir()
	db := openDuck(t)
	var rows int64
	for _, f := range files {
		if len(f.Columns) != len(typedPaths) {
			t.Fatalf("%s carries %d typed columns, want %d", f.Path, len(f.Columns), len(typedPaths))
		}
		local, err := lake.Fetch(context.Background(), f, cache)
		if err != nil {
			t.Fatal(err)
		}
		n, bad := checkTypedFile(t, db, local, f, h)
		rows += n
		untyped += bad
	}
	if rows != int64(len(h.recs)*len(typedPaths)) {
		t.Fatalf("read %d typed values, want %d", rows, len(h.recs)*len(typedPaths))
	}
	return untyped
}

// openDuck is an in-memory DuckDB for t's queries. One serves all the files a check
// reads: opening a database per file was a tenth of the CPU of go test -short here.
func openDuck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// checkTypedFile compares every typed column of the file f (at local) with the
// evaluator's reading of each row's payload in h, and the manifest's counts with the
// file's, read through db; it returns the values read and those of kind TypedUntyped.
func checkTypedFile(t *testing.T, db *sql.DB, local string, f lakehouse.FileEntry, h *history) (rows, untyped int64) {
	t.Helper()
	ctx := context.Background()
	doc := jsonpath.NewDocument()
	for _, c := range f.Columns {
		p, err := jsonpath.Parse(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf(`SELECT "partition", "offset", %s, %s, %s FROM read_parquet(%s)`, c.KindCol(), c.NumCol(), c.StrCol(), sqlList([]string{local}))
		rs, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var values, bad int64
		for rs.Next() {
			var part int32
			var off int64
			var kind int8
			var num sql.NullFloat64
			var str sql.NullString
			if err := rs.Scan(&part, &off, &kind, &num, &str); err != nil {
				t.Fatal(err)
			}
			rec := h.recs[pOff{part, off}]
			if err := doc.Reset([]byte(rec.JSON)); err != nil {
				t.Fatal(err)
			}
			var v jsonpath.Value
			if vs := p.Eval(doc, nil); len(vs) > 0 {
				v = vs[0]
			}
			want, wantNum, wantStr := expectTyped(v)
			if kind != want || num.Valid != (want == lakehouse.TypedNumber) || str.Valid != (want == lakehouse.TypedString) ||
				(num.Valid && !sameFloat(num.Float64, wantNum)) || (str.Valid && str.String != wantStr) {
				t.Fatalf("%s p%d@%d %s: columns (%d, %v, %.40q), evaluator (%d, %v, %.40q) from %.80s", f.Path, part, off, c.Path, kind, num, str.String, want, wantNum, wantStr, rec.JSON)
			}
			if kind != lakehouse.TypedAbsent {
				values++
			}
			if kind == lakehouse.TypedUntyped {
				bad++
			}
			rows++
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		if values != c.Values || bad != c.Untyped {
			t.Fatalf("%s %s: manifest says %d values and %d untyped, the file has %d and %d", f.Path, c.Path, c.Values, c.Untyped, values, bad)
		}
		untyped += bad
	}
	return rows, untyped
}

func expectTyped(v jsonpath.Value) (int8, float64, string) {
	switch v.Kind() {
	case jsonpath.KindNull:
		return lakehouse.TypedNull, 0, ""
	case jsonpath.KindBool:
		if v.Raw() == "true" {
			return lakehouse.TypedTrue, 0, ""
		}
		return lakehouse.TypedFalse, 0, ""
	case jsonpath.KindNumber:
		return lakehouse.TypedNumber, v.Num(), ""
	case jsonpath.KindString:
		s := v.Str()
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return lakehouse.TypedUntyped, 0, ""
		}
		return lakehouse.TypedString, 0, s
	case jsonpath.KindArray:
		return lakehouse.TypedArray, 0, ""
	case jsonpath.KindObject:
		return lakehouse.TypedObject, 0, ""
	}
	return lakehouse.TypedAbsent, 0, ""
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestColumnSetLimit: past the limit the set keeps the first paths in canonical order
// and says how many it left out.
func TestColumnSetLimit(t *testing.T) {
	t.Parallel()
	s := lakehouse.NewColumnSet(2)
	err := s.Set([]string{"$.c", "$.a", "$.b", "$.a", "$[*]"})
	if !errors.Is(err, lakehouse.ErrTooManyColumns) {
		t.Fatalf("Set: %v, want ErrTooManyColumns", err)
	}
	if got := fmt.Sprint(s.Paths()); got != "[$['a'] $['b']]" {
		t.Fatalf("paths %s", got)
	}
	if s.Over() != 1 {
		t.Fatalf("over %d, want 1", s.Over())
	}
	if err := s.Set([]string{"$.a"}); err != nil || s.Over() != 0 {
		t.Fatalf("Set within the limit: %v, over %d", err, s.Over())
	}
	if err := s.Set([]string{"$["}); err == nil || fmt.Sprint(s.Paths()) != "[$['a']]" {
		t.Fatalf("a bad path: %v, paths %v (want an error and no change)", err, s.Paths())
	}
}

// TestTypedColumnsAcrossChunks encodes one file of more rows than a chunk of typed
// values holds, with strings filling several string chunks and one longer than a
// chunk, and reads every typed value back with DuckDB, equal to the evaluator's.
func TestTypedColumnsAcrossChunks(t *testing.T) {
	if lakehouse.UnderRace && testing.Short() {
		t.Skip("encoding on one goroutine, nothing for the race detector: the plain pass of make test runs it")
	}
	t.Parallel()
	cfg := lakehouse.ArchiverConfig{Columns: lakehouse.NewColumnSet(4)}
	if err := cfg.Columns.Set([]string{"$.s", "$.n", "$.b"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var rows []lakehouse.Row
	h := &history{recs: map[pOff]produced{}}
	for i := range 40_000 {
		s := strings.Repeat(string(rune('a'+i%26)), i%200)
		if i == 33_333 {
			s = strings.Repeat("long", 400_000) // 1.6 MB: a chunk of its own
		}
		js := fmt.Sprintf(`{"s":%q,"n":%d.5,"b":%v}`, s, i-20_000, i%3 == 0)
		if i%1000 == 7 {
			js = `{"n":"text","b":null}`
		}
		rows = append(rows, lakehouse.Row{Partition: 0, Offset: int64(i), EventTime: base, IngestTime: base, Customer: fmt.Sprintf("c-%d", i%50), Payload: js})
		h.recs[pOff{0, int64(i)}] = produced{Partition: 0, Offset: int64(i), JSON: js}
	}
	data, entry, err := lakehouse.EncodeForTest(cfg, 0, 0, rows)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, _ := checkTypedFile(t, openDuck(t), path, entry, h); n != int64(3*len(rows)) {
		t.Fatalf("read %d typed values, want %d", n, 3*len(rows))
	}
}
