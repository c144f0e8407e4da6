package backfill

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestReplacedLakeFileWithFewerRowsCountsSilently: a listed lake file replaced by
// another valid archive Parquet file of the same byte size (a restore from the wrong
// backup, another lake's object copied over it) holding fewer rows passes Fetch's
// checks (size and trailer) and DuckDB reads it: the job counts its one row instead of
// the twenty the manifest lists for the file, with no error and Result.Rows short of
// the manifest's count. Compaction's reader checks the rows it read against the
// manifest's (ErrCorrupt "%d rows, manifest says %d"); backfill should too, naming the
// file (ErrUnreadableFile).
func TestReplacedLakeFileWithFewerRowsCountsSilently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	admins := func(from int64, n int) []lakehouse.Row {
		p := make([]string, n)
		for i := range p {
			p[i] = `{"a":"admin"}`
		}
		return lakehousetest.LegacyRows(from, "c-1", p...)
	}
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {admins(0, 20), admins(20, 20)}})
	victim := files[1]

	// The replacement: one row at the file's first offset, padded before its footer
	// to the listed file's size (the footer's offsets are absolute and before it).
	repl, _ := lakehousetest.LegacyFile(t, 0, admins(20, 1))
	if int64(len(repl)) >= victim.Bytes {
		t.Fatalf("replacement of %d bytes is not smaller than the %d listed", len(repl), victim.Bytes)
	}
	footer := int(binary.LittleEndian.Uint32(repl[len(repl)-8:]))
	cut := len(repl) - 8 - footer
	padded := append(append(append([]byte{}, repl[:cut]...), make([]byte, int(victim.Bytes)-len(repl))...), repl[cut:]...)
	if err := bkt.Put(ctx, victim.Path, bytes.NewReader(padded)); err != nil {
		t.Fatal(err)
	}
	rc, _ := bkt.Get(ctx, victim.Path)
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if int64(len(stored)) != victim.Bytes {
		t.Fatalf("stored %d bytes, want %d", len(stored), victim.Bytes)
	}

	lake := lakehouse.NewLake(bkt, nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r := VerdictRules(t)[0] // $.a == "admin": every row matches
	res, err := runner.Run(ctx, Job{Rule: r, Start: map[int32]int64{0: 40}})
	if err != nil {
		if strings.Contains(err.Error(), victim.Path) {
			return // refused, naming the file: what we want
		}
		t.Fatalf("error %v does not name %s", err, victim.Path)
	}
	t.Errorf("backfill over a listed file holding 1 row where the manifest lists 20: no error, counts %v, %d files, %d rows read (the manifest lists 40)",
		res.Counts, res.Files, res.Rows)
}
