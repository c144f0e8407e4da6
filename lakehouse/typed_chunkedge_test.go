package lakehouse_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestTypedEmptyStringAfterAFullChunk: typed strings that fill a chunk of typed
// strings to the byte (16 events of 64 KiB strings: 1 MiB), followed by an empty
// string at the same path, must be archived and read back as they were: the empty
// string's place in the chunks must not point past the last chunk.
func TestTypedEmptyStringAfterAFullChunk(t *testing.T) {
	t.Parallel()
	cols := lakehouse.NewColumnSet(4)
	if err := cols.Set([]string{"$.s"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var rows []lakehouse.Row
	for i := range 16 { // 16 × 64 KiB: exactly one chunk of typed strings
		rows = append(rows, lakehouse.Row{Offset: int64(i), EventTime: at, IngestTime: at, Customer: "c-1",
			Payload: `{"s":"` + strings.Repeat("x", 64<<10) + `"}`})
	}
	rows = append(rows, lakehouse.Row{Offset: 16, EventTime: at, IngestTime: at, Customer: "c-1", Payload: `{"s":""}`})
	var data []byte
	var entry lakehouse.FileEntry
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("encoding a file whose typed strings fill a chunk, then an empty one, panicked: %v", p)
			}
		}()
		data, entry, err = lakehouse.EncodeRows(0, 0, rows, cols, true)
	}()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := entry.Column("$['s']")
	if !ok {
		t.Fatalf("no typed column for $['s'] in %+v", entry.Columns)
	}
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var k int8
	var s sql.NullString
	if err := db.QueryRowContext(context.Background(), `SELECT `+c.KindCol()+`, `+c.StrCol()+` FROM read_parquet('`+path+`') WHERE "offset" = 16`).Scan(&k, &s); err != nil {
		t.Fatal(err)
	}
	if k != lakehouse.TypedString || !s.Valid || s.String != "" {
		t.Fatalf("row 16: kind %d, string %v; want kind %d and the empty string", k, s, lakehouse.TypedString)
	}
}
