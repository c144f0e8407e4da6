package ingest

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestVarintLenIsTheEncodedLength: the sizes the bounds count (RecordBytes) are those
// of Kafka's zigzag varints, including at each length's edge (63 takes one byte, 64
// two).
func TestVarintLenIsTheEncodedLength(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 8191, 8192, 1<<20 - 1, 1 << 20, 1 << 27, 1 << 30} {
		if got, want := varintLen(n), len(binary.AppendVarint(nil, int64(n))); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestCutKeyOfBytesNoCharacterStarts: a key is any bytes; one of continuation bytes
// alone (no character starts in it) is cut to nothing, not walked back past its start.
func TestCutKeyOfBytesNoCharacterStarts(t *testing.T) {
	rec := &kgo.Record{Key: []byte{0x80, 0x80, 0x80}, Value: []byte(`{}`)}
	if !CutKey(rec, 2) {
		t.Fatal("a key of 3 bytes cut to 2 reported no cut")
	}
	if len(rec.Key) != 0 {
		t.Errorf("key cut to %q, want empty", rec.Key)
	}
}
