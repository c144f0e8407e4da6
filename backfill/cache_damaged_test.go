package backfill

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDamagedCacheCopyIsFetchedAgain: the lake is intact, but the local cache's copy of
// one of its files is damaged while keeping its size (a crash of the machine after
// Fetch's rename, which does not fsync, leaves a file of the right size and zeroed
// blocks on XFS; a bad sector; a hand edit). Lake.Fetch took a cache file of the
// manifest's size as the file without looking at it, so DuckDB read the damaged
// copy: the job failed with ErrUnreadableFile naming a lake object that is fine, and
// every retry of the daemon's hand-off took the same copy again — the rule stayed in
// error for ever, and the operator was sent to repair the lake. fetchError's own
// comment says ErrUnreadableFile is for bytes "not what the manifest says ... however
// often it is fetched again"; these were fetched never again. Fetch now checks a hit's
// Parquet trailer and fetches a copy that fails it again. The brief: a bad input
// gets a clear error and loses nothing. The oracle: the same job over a fresh cache
// directory (the lake's own bytes).
func TestDamagedCacheCopyIsFetchedAgain(t *testing.T) {
	t.Parallel()
	_, files, run := adminsLake(t)
	want, err := run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(want, map[string]int64{"c-1": 2, "c-2": 2}) {
		t.Fatalf("oracle run counted %v", want)
	}

	cache := t.TempDir()
	if _, err := run(cache); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(cache, filepath.FromSlash(files[1].Path))
	fi, err := os.Stat(local)
	if err != nil {
		t.Fatalf("the job left no cached copy of %s: %v", files[1].Path, err)
	}
	// Same size, zeroed blocks.
	if err := os.WriteFile(local, make([]byte, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ { // the daemon's retries
		got, err := run(cache)
		if err != nil {
			t.Fatalf("attempt %d over an intact lake with a damaged cache copy: %v", attempt, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("attempt %d counted %v, want %v", attempt, got, want)
		}
	}
}

// damageInside overwrites data's pages, between the leading "PAR1" and the footer, with
// 0xff: the trailer Fetch checks stays whole, DuckDB's read of the pages fails.
func damageInside(t *testing.T, data []byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	footer := int(binary.LittleEndian.Uint32(out[len(out)-8:]))
	end := len(out) - 8 - footer
	if end <= 4 {
		t.Fatalf("a file of %d bytes with a footer of %d holds no pages", len(out), footer)
	}
	for i := 4; i < end; i++ {
		out[i] = 0xff
	}
	return out
}

// TestCachedCopyDamagedInsideIsFetchedAgain: the last line behind Fetch's trailer check.
// A cached copy damaged inside (its pages, not its trailer) passes Fetch, and DuckDB's
// query of the chunk fails on it; the runner fetches that file afresh and runs the query
// again, so the job over an intact lake counts what a fresh cache does. Damage in the
// lake object itself fails the job with ErrUnreadableFile naming the file and saying
// that the lake's own bytes, fetched afresh, cannot be read.
func TestCachedCopyDamagedInsideIsFetchedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, files, run := adminsLake(t)
	want := map[string]int64{"c-1": 2, "c-2": 2}

	cache := t.TempDir()
	if got, err := run(cache); err != nil || !maps.Equal(got, want) {
		t.Fatalf("first run: %v, %v; want %v", got, err, want)
	}
	local := filepath.Join(cache, filepath.FromSlash(files[1].Path))
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, damageInside(t, data), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		got, err := run(cache)
		if err != nil {
			t.Fatalf("attempt %d over an intact lake with a cached copy damaged inside: %v", attempt, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("attempt %d counted %v, want %v", attempt, got, want)
		}
	}
	if fresh, err := os.ReadFile(local); err != nil || !bytes.Equal(fresh, data) {
		t.Errorf("the damaged copy was not replaced by the lake's bytes (err %v)", err)
	}

	// The lake object itself damaged the same way: no fetch cures it.
	if err := bkt.Put(ctx, files[1].Path, bytes.NewReader(damageInside(t, data))); err != nil {
		t.Fatal(err)
	}
	_, err = run(t.TempDir())
	if !errors.Is(err, ErrUnreadableFile) || errors.Is(err, ErrCacheNotKept) {
		t.Fatalf("a lake object damaged inside: %v; want ErrUnreadableFile", err)
	}
	if msg := err.Error(); !strings.Contains(msg, files[1].Path) || strings.Contains(msg, files[0].Path) || !strings.Contains(msg, "lake object itself") {
		t.Errorf("error %q: want %s named alone, and the lake object said to be at fault", msg, files[1].Path)
	}
}

// adminsLake is a legacy lake of two files in partition 0 (c-1 admin twice in the
// first, c-2 twice in the second) and run, which counts $.a == "admin" over it with a
// runner of its own on cache.
func adminsLake(t *testing.T) (*lakehouse.MemBucket, []lakehouse.FileEntry, func(cache string) (map[string]int64, error)) {
	t.Helper()
	bkt := lakehouse.NewMemBucket()
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, "c-1", `{"a":"admin"}`, `{"a":"user"}`, `{"a":"admin"}`),
		lakehousetest.LegacyRows(3, "c-2", `{"a":"admin"}`, `{"a":"admin"}`),
	}})
	lake := lakehouse.NewLake(bkt, nil)
	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Rule: r, Start: map[int32]int64{0: 5}}
	return bkt, files, func(cache string) (map[string]int64, error) {
		runner, err := NewRunner(Config{Lake: lake, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer runner.Close()
		res, err := runner.Run(context.Background(), job)
		if err != nil {
			return nil, err
		}
		return res.Counts, nil
	}
}
