package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A bucket URL with a query option the store does not know (a typo of region=,
// endpoint=) is a bad command line, as an unknown scheme is (exit status 2 naming the
// flag, TestLakeURLThatNamesNoStoreIsBadUsage). checkBucketFlag checks only the scheme:
// live takes the URL, starts, and exits 1 once it opens the bucket ("opening the state
// store: … invalid query parameter").
func TestLiveBucketURLWithUnknownQueryOptionIsBadUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, url string }{
		{"--lake", "file://" + filepath.Join(t.TempDir(), "lake") + "?foo=bar"},
		{"--state", "s3://bucket?region=us-east-1&bogus=1"},
	} {
		dataDir := filepath.Join(t.TempDir(), "data")
		args := []string{"live", "--data-dir", dataDir, "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--no-backfill", tc.flag, tc.url}
		code, last := runToEnd(t, args...)
		if code != 2 || !strings.Contains(last, tc.flag) {
			t.Errorf("hindsight live %s %s: exit status %d (%s), want 2 naming %s and the unknown option", tc.flag, tc.url, code, last, tc.flag)
		}
	}
}
