package live

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
)

// TestCraftedSnapshotClaimedSizeAllocates: a snapshot frame is magic, version,
// compression, an S2 block and a CRC-32C of them. openState bounds the decompressed
// size only by the 4 GiB the body's offsets address, and S2 allocates the size the
// block's header claims before it decodes a byte. A frame of a few dozen bytes with a
// valid checksum, whose block claims a large size and holds four bytes, is refused as
// corrupt (as it should be), but only after restore allocated what the header claimed:
// a length field read from storage sizes a make() without bound by what the file
// holds, a flag, or the memory limit.
func TestCraftedSnapshotClaimedSizeAllocates(t *testing.T) {
	f := newStateFixture(t, 1)
	for _, claimed := range []uint64{1 << 20, 1 << 30} {
		block := binary.AppendUvarint(nil, claimed)
		block = append(block, 3<<2, 'a', 'b', 'c', 'd') // one literal of 4 bytes
		data := append([]byte(stateMagic), 0, 0, stateCompressionS2, 0)
		binary.LittleEndian.PutUint16(data[4:], stateVersion)
		data = append(data, block...)
		data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, crcTable))

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := f.d.partitionFromSnapshot(0, data, nil)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrStateCorrupt) {
			t.Fatalf("claimed %d: restore of a %d-byte frame: %v, want ErrStateCorrupt", claimed, len(data), err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("claimed %d bytes: restoring a %d-byte snapshot (refused: %v) allocated %d bytes", claimed, len(data), err, alloc)
		}
	}
}
