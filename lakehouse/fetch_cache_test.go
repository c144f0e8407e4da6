package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestFetchReplacesDamagedCacheCopy: Fetch reuses a cached copy of the manifest's size
// only if it ends as Parquet does (footer length and "PAR1"): a copy zeroed on disk, or
// one whose footer length no longer fits, is fetched again and replaced by the lake's
// bytes, where Fetch had handed it to DuckDB on every try. FetchAgain replaces even a
// copy that passes those checks (one DuckDB found damaged inside).
func TestFetchReplacesDamagedCacheCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rows := []lakehouse.Row{
		{Offset: 0, EventTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Customer: "c-1", Payload: `{"a":1}`},
		{Offset: 1, EventTime: time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC), Customer: "c-1", Payload: `{"a":2}`},
	}
	data, f, err := lakehouse.EncodeRows(0, 0, rows, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "data/p=0000/h=2024-01-01T00/00000000000000000000-00000000000000000001-00000001.parquet"
	bkt := lakehouse.NewMemBucket()
	if err := bkt.Put(ctx, f.Path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	lake := lakehouse.NewLake(bkt, nil)
	cache := t.TempDir()
	local, err := lake.Fetch(ctx, f, cache)
	if err != nil {
		t.Fatal(err)
	}
	badFooter := bytes.Clone(data)
	binary.LittleEndian.PutUint32(badFooter[len(badFooter)-8:], uint32(len(data))) // "PAR1" both ends kept
	inside := bytes.Clone(data)
	inside[4] ^= 0xff // trailer whole
	for name, c := range map[string]struct {
		copy  []byte
		again bool
	}{
		"zeroed":                  {make([]byte, len(data)), false},
		"footer length too large": {badFooter, false},
		"damaged inside, again":   {inside, true},
	} {
		if err := os.WriteFile(local, c.copy, 0o644); err != nil {
			t.Fatal(err)
		}
		fetch := lake.Fetch
		if c.again {
			fetch = lake.FetchAgain
		}
		got, err := fetch(ctx, f, cache)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b, err := os.ReadFile(got); err != nil || got != local || !bytes.Equal(b, data) {
			t.Errorf("%s: the cached copy %s was not replaced by the lake's bytes (err %v)", name, got, err)
		}
	}
	// A whole copy is reused as it is: Fetch does not fetch it again.
	if err := bkt.Delete(ctx, f.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Fetch(ctx, f, cache); err != nil {
		t.Errorf("a whole cached copy was not reused: %v", err)
	}
}

// TestFetchAgainOfALinkedCopy: a local lake's file is linked into the cache, and
// FetchAgain links it again; renaming one link of a file over another does nothing, and
// the extra link (".link-*") must not be left in the cache.
func TestFetchAgainOfALinkedCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data, f, err := lakehouse.EncodeRows(0, 0, []lakehouse.Row{
		{Offset: 0, EventTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Customer: "c-1", Payload: `{"a":1}`},
	}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "data/p=0000/h=2024-01-01T00/00000000000000000000-00000000000000000000-00000001.parquet"
	lake, err := lakehouse.OpenLake(ctx, "file://"+t.TempDir(), lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	if err := lake.Bucket().Put(ctx, f.Path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if _, err := lake.Fetch(ctx, f, cache); err != nil {
		t.Fatal(err)
	}
	local, err := lake.FetchAgain(ctx, f, cache)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(local); err != nil || !bytes.Equal(b, data) {
		t.Errorf("FetchAgain's copy is not the lake's bytes (err %v)", err)
	}
	entries, err := os.ReadDir(filepath.Dir(local))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
}
