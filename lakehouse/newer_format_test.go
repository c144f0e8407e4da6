package lakehouse_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestNewerManifestFormatStopsReadsAndCommits: a manifest of a format above
// ManifestFormat is a newer hindsight's commit, not junk to skip. Over a readable
// older manifest, a snapshot and a maintenance pass fail with ErrNewerFormat (they had
// read, and committed on, the older one), nothing is committed or pruned; and with the
// newer manifest alone, the error is not the advice for unreadable manifests (remove
// them, which would destroy the newer lake).
func TestNewerManifestFormatStopsReadsAndCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, _ := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 2, 3, 5, nil)
	lakehousetest.PutNewerFormatManifest(t, bkt)
	manifests := func() []string {
		var names []string
		if err := bkt.List(ctx, "manifest/", func(a lakehouse.ObjectAttributes) error {
			names = append(names, a.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return names
	}

	lake := lakehouse.NewLake(bkt, nil)
	if _, err := lake.Snapshot(ctx); !errors.Is(err, lakehouse.ErrNewerFormat) {
		t.Errorf("snapshot over a newer-format manifest: %v, want ErrNewerFormat", err)
	}
	if _, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, DeleteDelay: -1}); !errors.Is(err, lakehouse.ErrNewerFormat) {
		t.Errorf("maintenance over a newer-format manifest: %v, want ErrNewerFormat", err)
	}
	if got := manifests(); len(got) != 2 {
		t.Errorf("manifests %v, want v1 and v2 alone", got)
	}

	if err := bkt.Delete(ctx, "manifest/v000000000001.json"); err != nil {
		t.Fatal(err)
	}
	_, err := lakehouse.NewLake(bkt, nil).Snapshot(ctx)
	if !errors.Is(err, lakehouse.ErrNewerFormat) || errors.Is(err, lakehouse.ErrUnreadableManifests) || strings.Contains(err.Error(), "remove") {
		t.Errorf("snapshot of a lake whose only manifest is of a newer format: %v, want ErrNewerFormat and no advice to remove it", err)
	}
}
