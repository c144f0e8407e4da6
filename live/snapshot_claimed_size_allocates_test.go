package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// TestCraftedSnapshotClaimedSizeAllocates: a snapshot frame is magic, version,
// compression, an S2 block and a CRC-32C of them, and S2 allocates the size the
// block's header claims before it decodes a byte. A frame of a few dozen bytes with a
// valid checksum, whose block claims more than --max-snapshot-bytes and holds four
// bytes, is refused for that claim, naming it and the limit, before anything is
// decoded: refused by the decoder instead (s2: corrupt input), it had been allocated
// whole first, a gigabyte for 22 bytes. A claim at the limit is decoded, and the
// decoder finds the block short of it.
func TestCraftedSnapshotClaimedSizeAllocates(t *testing.T) {
	f := newStateFixture(t, 1)
	const limit = 1 << 20
	f.d.cfg.MaxSnapshotBytes = limit
	frame := func(claimed uint64) []byte {
		block := binary.AppendUvarint(nil, claimed)
		block = append(block, 3<<2, 'a', 'b', 'c', 'd') // one literal of 4 bytes
		data := append([]byte(stateMagic), 0, 0, stateCompressionS2, 0)
		binary.LittleEndian.PutUint16(data[4:], stateVersion)
		data = append(data, block...)
		return binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, crcTable))
	}
	for _, claimed := range []uint64{limit + 1, 1 << 30} {
		data := frame(claimed)
		_, err := f.d.partitionFromSnapshot(0, data, nil)
		if !errors.Is(err, ErrSnapshotTooLarge) {
			t.Fatalf("claimed %d: restore of a %d-byte frame: %v, want ErrSnapshotTooLarge (refused for the claim, before decoding)", claimed, len(data), err)
		}
		for _, want := range []string{fmt.Sprintf("claims %d bytes", claimed), fmt.Sprintf("limit of %d (--max-snapshot-bytes)", limit), fmt.Sprintf("a %d-byte snapshot", len(data))} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("claimed %d: the refusal %q does not say %q", claimed, err, want)
			}
		}
	}
	_, err := f.d.partitionFromSnapshot(0, frame(limit), nil)
	if !errors.Is(err, ErrStateCorrupt) || errors.Is(err, ErrSnapshotTooLarge) {
		t.Errorf("claimed %d, the limit: %v, want it decoded and found corrupt", limit, err)
	}
}
