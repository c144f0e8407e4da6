package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// failingManifestAttributes fails Attributes of manifest objects, as a store in a
// brief outage would (a 503), and counts them.
type failingManifestAttributes struct {
	lakehouse.Bucket
	mu     sync.Mutex
	failed int
}

func (b *failingManifestAttributes) Attributes(ctx context.Context, name string) (lakehouse.ObjectAttributes, error) {
	if strings.HasPrefix(name, "manifest/") {
		b.mu.Lock()
		b.failed++
		b.mu.Unlock()
		return lakehouse.ObjectAttributes{}, fmt.Errorf("503 service unavailable")
	}
	return b.Bucket.Attributes(ctx, name)
}

// A replaced file is deleted once DeleteDelay has passed since the commit that
// replaced it, by the remover's clock (RemovedAt) and by the store's time of that
// manifest's object, "so that a remover's slow clock cannot cut it short". When the
// store fails to say that time (a storage error, not a pruned manifest), the pass
// leaves the file for a later one. It had taken the remover's clock alone and deleted
// the file at once: a remover whose clock ran 2 h behind, its manifest written a moment
// ago, had its replaced file deleted with a delay of 1 h, under readers of the manifest
// before it.
func TestDeleteDelayHeldOnAStorageError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner, _ := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, inner, 1, 1, 3, nil)
	replaced := "data/p=0000/h=2026-03-01T08/00000000000000000000-00000000000000000002-0000000a.parquet"
	if err := inner.Put(ctx, replaced, bytes.NewReader([]byte("old file"))); err != nil {
		t.Fatal(err)
	}
	m, err := lakehouse.NewLake(inner, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := *m.Manifest()
	v2.Version = 2
	v2.PendingDeletes = []lakehouse.PendingDelete{{Path: replaced, RemovedAt: time.Now().Add(-2 * time.Hour), RemovedIn: 2}}
	data, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	if err := inner.Put(ctx, "manifest/v000000000002.json", bytes.NewReader(data)); err != nil { // written now, by the store's clock
		t.Fatal(err)
	}
	// Control: with the store answering, the delay holds.
	if _, err := lakehouse.NewLake(inner, testLogger()).Maintain(ctx, lakehouse.MaintenanceConfig{DeleteDelay: time.Hour, CompactSmallBytes: 1}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := inner.Exists(ctx, replaced); !ok {
		t.Fatal("control: the replaced file was deleted within its delay with the store answering")
	}
	b := &failingManifestAttributes{Bucket: inner}
	rep, err := lakehouse.NewLake(b, testLogger()).Maintain(ctx, lakehouse.MaintenanceConfig{DeleteDelay: time.Hour, CompactSmallBytes: 1})
	t.Logf("pass with manifest attributes failing (%d failed): %+v, %v", b.failed, rep, err)
	if ok, _ := inner.Exists(ctx, replaced); !ok {
		t.Errorf("the replaced file, its manifest written moments ago, was deleted with a delete delay of 1 h: the store's time could not be read (a storage error) and the remover's clock, 2 h behind, was taken alone")
	}
}
