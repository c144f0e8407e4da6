//go:build linux

package notify

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSecretFileOfUnstatedSizeIsBoundedByItsBytes: a regular file whose Stat says
// nothing of its length (procfs and sysfs give 0, as a file growing after the Stat
// does in effect) passes the Stat's check, so the bound rests on the read, which reads
// one byte past it to see the file is longer. Reading only up to the bound took the
// first MaxSecretBytes bytes as the whole secret: a key cut short, signing requests
// no receiver accepts, with nothing said of the bound.
func TestSecretFileOfUnstatedSizeIsBoundedByItsBytes(t *testing.T) {
	const name = "/proc/self/cmdline" // the test binary's path and flags: well over 8 bytes
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Size() != 0 {
		t.Fatalf("%s: mode %v, size %d; want a regular file whose Stat says size 0", name, fi.Mode(), fi.Size())
	}
	b, err := os.ReadFile(name)
	if err != nil || len(b) <= 8 {
		t.Fatalf("%s: %d bytes, %v; want more than 8", name, len(b), err)
	}
	reg := prometheus.NewRegistry()
	s := secretStage(t, Config{SecretDirs: []string{"/proc/self"}, MaxSecretBytes: 8}, nil, reg)
	v, err := s.secret(&rule.SecretRef{File: name})
	if err == nil || !strings.Contains(err.Error(), "larger than a secret may be, 8 bytes (--notify-max-secret-bytes)") {
		t.Fatalf("%s (%d bytes, Stat size 0, bound 8): %q, %v; want refused as larger than the bound", name, len(b), v, err)
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", LimitMaxSecretBytes); n != 1 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v, want 1", LimitMaxSecretBytes, n)
	}
}
