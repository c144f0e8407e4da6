package main

import (
	"strings"
	"testing"
)

// file://relative/lake (a relative path written as file://DIR, the slip EnsureDefaults'
// comment names) reads "relative" as a host, and LocalDir drops the host: the bucket
// is /lake, another directory than the one meant, and checkBucketFlag takes it. A file://
// URL with a host other than "." (file://./dir) or none is refused, naming the flag.
func TestBucketURLFileHostIsRefused(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"lake", "state", "restore-from"} {
		for _, u := range []string{"file://relative/lake", "file://hindsight-data/lake"} {
			err := checkBucketFlag(flag, u)
			if err == nil || !strings.Contains(err.Error(), "--"+flag) {
				t.Errorf("--%s %s: %v; want it refused naming the flag (it would be the directory %s)", flag, u, err, strings.TrimPrefix(u, "file://"+strings.SplitN(strings.TrimPrefix(u, "file://"), "/", 2)[0]))
			}
		}
	}
}
