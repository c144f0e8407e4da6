package lakehousetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// PutNewerFormatManifest writes manifest v2 of bkt as a newer hindsight would: v1's
// contents under a format above lakehouse.ManifestFormat, with a field this build does
// not know. bkt must hold manifest v1 alone (SmallFilesLake makes one).
func PutNewerFormatManifest(t testing.TB, bkt lakehouse.Bucket) {
	t.Helper()
	ctx := context.Background()
	rc, err := bkt.Get(ctx, "manifest/v000000000001.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["format"], m["version"], m["added_by_a_newer_version"] = lakehouse.ManifestFormat+1, 2, true
	newer, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000002.json", bytes.NewReader(newer)); err != nil {
		t.Fatal(err)
	}
}
