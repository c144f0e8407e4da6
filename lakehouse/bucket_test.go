package lakehouse_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// openTestBucket opens a bucket of the given kind ("mem", "file" or "s3") for t.
func openTestBucket(t testing.TB, kind string) (lakehouse.Bucket, string) {
	t.Helper()
	var url string
	switch kind {
	case "mem":
		url = "mem://"
	case "file":
		url = "file://" + t.TempDir()
	case "s3":
		url = s3test.Start(t, "lake").URL()
	default:
		t.Fatalf("unknown bucket kind %q", kind)
	}
	return lakehousetest.OpenBucket(t, url), url
}

var bucketKinds = []string{"mem", "file", "s3"}

func TestBucketAcceptance(t *testing.T) {
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	for _, kind := range bucketKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel() // each kind its own bucket (and S3 server)
			bkt, _ := openTestBucket(t, kind)
			lakehousetest.AcceptanceTest(t, bkt)
		})
	}
}
