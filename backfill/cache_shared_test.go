// Unix only: the cross-process pins are flocks (cache_unix.go); elsewhere pins are the
// process's own (cache_other.go), and another process trimming the cache as fast as this
// test's does can delete a copy more often than a job fetches it again.

//go:build unix

package backfill

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCacheSharedWithAnotherProcess: `hindsight backfill --cache-dir` defaults to
// hindsight live's cache directory ("hindsight live's, by default"), so a one-shot
// backfill (here with --cache-max-bytes 1) trims the same directory a daemon's
// hand-off job reads. Pins (cache.go's cacheDirs) lived in one process's memory alone:
// the other process's trim deleted the files the job fetched and DuckDB had not opened
// yet (the job fetches a whole chunk, then queries it). The other process is modelled
// by a second spelling of the directory (a symlink), which cacheOf keys apart exactly
// as another process's table would be; the flocks that now pin across processes belong
// to open file descriptions, so they hold between the two spellings as between two
// processes. The job over an intact lake had failed with ErrUnreadableFile naming a
// lake object that is fine (or, racing, counted short): wrong either way. The oracle:
// the job's counts with nobody else on the cache.
func TestCacheSharedWithAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	var fs [][]lakehouse.Row
	for i := range 24 {
		fs = append(fs, lakehousetest.LegacyRows(int64(i*3), fmt.Sprintf("c-%d", i%5), `{"a":"admin"}`, `{"a":"user"}`, `{"a":"admin"}`))
	}
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: fs})
	lake := lakehouse.NewLake(bkt, nil)
	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Rule: r, Start: map[int32]int64{0: int64(len(fs) * 3)}}
	want := map[string]int64{}
	for i := range 24 {
		want[fmt.Sprintf("c-%d", i%5)] += 2
	}

	cache := t.TempDir()
	other := filepath.Join(t.TempDir(), "same-cache")
	if err := os.Symlink(cache, other); err != nil {
		t.Fatal(err)
	}
	runner, err := NewRunner(Config{Lake: lake, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	for attempt := range 5 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the one-shot backfill's trims, --cache-max-bytes 1
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					evictCache(other, 1)
				}
			}
		}()
		res, err := runner.Run(ctx, job)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("attempt %d: a job over an intact lake, another process trimming the shared cache: %v", attempt, err)
		}
		if !maps.Equal(res.Counts, want) {
			t.Fatalf("attempt %d: counts %v, want %v", attempt, res.Counts, want)
		}
	}
}
