package ingest

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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

// TestRecordBytesIsTheLargestEncoding: RecordBytes is a record's size as Kafka encodes
// it in a batch with its framing at its largest (length, timestamp delta and offset
// delta of the most bytes), the header count's prefix included, at each count's edge.
func TestRecordBytesIsTheLargestEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64} {
		rec := &kgo.Record{Key: []byte("c-1"), Value: []byte(strings.Repeat("v", 100))}
		for range n {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: "h", Value: []byte("x")})
		}
		kr := kmsg.Record{Length: math.MaxInt32, TimestampDelta64: math.MinInt64, OffsetDelta: math.MaxInt32, Key: rec.Key, Value: rec.Value}
		for _, h := range rec.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		if got, want := RecordBytes(rec), len(kr.AppendTo(nil)); got != want {
			t.Errorf("%d headers: RecordBytes %d, the largest encoding %d bytes", n, got, want)
		}
	}
}
