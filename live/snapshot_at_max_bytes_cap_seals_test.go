package live

import (
	"fmt"
	"testing"
)

// TestSnapshotAtMaxBytesCapSeals: --max-snapshot-bytes admits up to MaxSnapshotBytesCap
// (negative: that), and storeSnapshot stores every body not above the limit, sealing it
// with sealState. A body at the cap must then be sealed (or refused with an error), not
// crash the daemon: S2 blocks hold at most s2.MaxBlockSize bytes, a few below the cap.
// The body is zeros mapped from one small file (zeroBody) and sealed into room mapped
// but not written (roomFor): 9 GiB of address space, not of memory. The room is what
// storeSnapshot passes after its first seal (the partition's sealed buffer, grown);
// slices.Grow, MaxEncodedLen and s2.Encode check the size with it as with nil.
func TestSnapshotAtMaxBytesCapSeals(t *testing.T) {
	if testing.Short() {
		t.Skip("seals 4 GiB of zeros: make test runs it")
	}
	c := Config{MaxSnapshotBytes: -1}
	c.EnsureDefaults()
	if c.MaxSnapshotBytes != MaxSnapshotBytesCap {
		t.Fatalf("negative --max-snapshot-bytes became %d, want the cap %d", c.MaxSnapshotBytes, int64(MaxSnapshotBytesCap))
	}
	body := zeroBody(t, int(c.MaxSnapshotBytes)) // not above the limit: storeSnapshot seals it
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		// A quarter over the body holds what s2.MaxEncodedLen allows (n/6 and a few
		// bytes); a body past s2's limit still panics in s2.Encode, whatever the room.
		_ = sealState(roomFor(t, len(body)+len(body)/4), body, stateVersion)
	}()
	if panicked != nil {
		t.Fatalf("sealing a %d-byte body, at --max-snapshot-bytes' cap (which storeSnapshot admits), panicked: %v", len(body), fmt.Sprint(panicked))
	}
}
