package lakehousetest

import (
	"context"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// OpenBucket opens the bucket at url for t and closes it when t ends: the lake of a
// test.
func OpenBucket(t testing.TB, url string) lakehouse.Bucket {
	t.Helper()
	return OpenBucketWith(t, url, lakehouse.StorageConfig{})
}

// OpenBucketWith is OpenBucket reaching the storage as s says.
func OpenBucketWith(t testing.TB, url string, s lakehouse.StorageConfig) lakehouse.Bucket {
	t.Helper()
	bkt, err := lakehouse.OpenBucket(context.Background(), url, s)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = bkt.Close() })
	return bkt
}

// FileBucket opens a file:// bucket in a new temporary directory for t, closed when t
// ends, and returns it with the directory, for tests that hand its URL to a process
// or reach its files.
func FileBucket(t testing.TB) (lakehouse.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	return OpenBucket(t, "file://"+dir), dir
}
