//go:build unix

package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestHeldCopyOutlivesAnotherProcessEviction: the flock protocol of cache.go on its own.
// A copy held (fetchHeld) stays through an eviction from another process — modelled by a
// second spelling of the directory, which cacheOf keys apart as another process's pin
// table is, while the flock, taken on the same file, is seen as it is across processes;
// it goes once released. A hold of a copy unlinked after its fetch (before the hold's
// open, or while it waits for its lock) reports it gone (errCopyGone), and fetchHeld
// fetches it again rather than hand DuckDB a path that names nothing.
func TestHeldCopyOutlivesAnotherProcessEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, "c-1", `{"a":"admin"}`),
		lakehousetest.LegacyRows(1, "c-2", `{"a":"user"}`),
	}})
	lake := lakehouse.NewLake(bkt, nil)
	cache := t.TempDir()
	other := filepath.Join(t.TempDir(), "same-cache")
	if err := os.Symlink(cache, other); err != nil {
		t.Fatal(err)
	}

	local, release, err := fetchHeld(ctx, lake, cache, files[0], false)
	if err != nil {
		t.Fatal(err)
	}
	unheld, release1, err := fetchHeld(ctx, lake, cache, files[1], false)
	if err != nil {
		t.Fatal(err)
	}
	release1()
	ev := evictCache(other, 1)
	if ev.Deleted != 1 || ev.Pinned != 1 {
		t.Errorf("another process's eviction while one copy is held: %+v; want 1 deleted, 1 pinned", ev)
	}
	if _, err := os.Stat(local); err != nil {
		t.Errorf("the held copy was deleted by another process's eviction: %v", err)
	}
	if _, err := os.Stat(unheld); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the released copy stayed: %v", err)
	}
	release()
	if ev := evictCache(other, 1); ev.Deleted != 1 || ev.Pinned != 0 {
		t.Errorf("eviction once released: %+v; want the copy deleted", ev)
	}

	// A copy unlinked between the hold's open and its lock: an evictor holds its
	// exclusive lock (another open file description, as another process's would be),
	// the hold opens the copy and waits for its shared lock (seen waiting in
	// /proc/locks), the evictor unlinks it and lets go. The hold must see the link
	// count of 0.
	local, err = lake.Fetch(ctx, files[0], cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/locks"); err != nil {
		t.Logf("no /proc/locks to see a waiting lock in: the unlink during the hold's wait is not tried (%v)", err)
	} else {
		ev, err := os.Open(local)
		if err != nil {
			t.Fatal(err)
		}
		if err := flock(ev, syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		fi, err := ev.Stat()
		if err != nil {
			t.Fatal(err)
		}
		ino := fmt.Sprintf(":%d ", fi.Sys().(*syscall.Stat_t).Ino)
		got := make(chan error, 1)
		go func() { // ends once ev's lock goes, below
			h, err := holdCopy(local)
			if h != nil {
				h.Close()
			}
			got <- err
		}()
		poll.Until(t, 10*time.Second, "the hold waiting for its lock", func() bool {
			locks, _ := os.ReadFile("/proc/locks")
			for _, l := range strings.Split(string(locks), "\n") {
				if strings.Contains(l, "-> FLOCK") && strings.Contains(l, ino) {
					return true
				}
			}
			return false
		})
		if err := os.Remove(local); err != nil {
			t.Fatal(err)
		}
		ev.Close()
		if err := <-got; !errors.Is(err, errCopyGone) {
			t.Errorf("hold of a copy unlinked while it waited for its lock: %v; want errCopyGone", err)
		}
	}
	if _, err := os.Stat(local); !errors.Is(err, os.ErrNotExist) {
		if err := os.Remove(local); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := holdCopy(local); !errors.Is(err, errCopyGone) {
		if h != nil {
			h.Close()
		}
		t.Errorf("hold of a copy unlinked before it: %v; want errCopyGone", err)
	}
	// fetchHeld fetches it again rather than hand DuckDB a path that names nothing.
	local, release, err = fetchHeld(ctx, lake, cache, files[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if data, err := os.ReadFile(local); err != nil || !bytes.HasPrefix(data, []byte("PAR1")) {
		t.Errorf("fetchHeld after the unlink gave no copy: %v", err)
	}
}
