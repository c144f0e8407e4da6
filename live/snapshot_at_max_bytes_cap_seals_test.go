package live

import (
	"fmt"
	"testing"
)

// TestSnapshotAtMaxBytesCapSeals: --max-snapshot-bytes admits up to MaxSnapshotBytesCap
// (negative: that), and storeSnapshot stores every body not above the limit, sealing it
// with sealState. A body at the cap must then be sealed (or refused with an error), not
// crash the daemon: S2 blocks hold at most s2.MaxBlockSize bytes, a few below the cap.
// The body is allocated but never touched before the seal fails.
func TestSnapshotAtMaxBytesCapSeals(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates (untouched) 4 GiB of address space")
	}
	c := Config{MaxSnapshotBytes: -1}
	c.EnsureDefaults()
	if c.MaxSnapshotBytes != MaxSnapshotBytesCap {
		t.Fatalf("negative --max-snapshot-bytes became %d, want the cap %d", c.MaxSnapshotBytes, int64(MaxSnapshotBytesCap))
	}
	body := make([]byte, c.MaxSnapshotBytes) // not above the limit: storeSnapshot seals it
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_ = sealState(nil, body, stateVersion)
	}()
	if panicked != nil {
		t.Fatalf("sealing a %d-byte body, at --max-snapshot-bytes' cap (which storeSnapshot admits), panicked: %v", len(body), fmt.Sprint(panicked))
	}
}
