package ingest

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCutKey: CutKey cuts only the key, at a character's start, and says the size
// before in HeaderOriginalBytes; a key within the bound is left as it is.
func TestCutKey(t *testing.T) {
	t.Parallel()
	short := &kgo.Record{Key: []byte("c-1"), Value: []byte(`{"a":1}`)}
	if CutKey(short, 1024) || string(short.Key) != "c-1" || len(short.Headers) != 0 {
		t.Errorf("short key: cut to %q, headers %v; want it as it was", short.Key, short.Headers)
	}
	key := strings.Repeat("é", 1000) // 2 bytes each
	rec := &kgo.Record{Key: []byte(key), Value: []byte(`{"a":1}`)}
	before := RecordBytes(rec)
	if !CutKey(rec, 1023) {
		t.Fatal("a 2000-byte key not cut to 1023 bytes")
	}
	if len(rec.Key) != 1022 || !utf8.Valid(rec.Key) || !strings.HasPrefix(key, string(rec.Key)) || string(rec.Value) != `{"a":1}` {
		t.Errorf("key cut to %d bytes (valid UTF-8: %v), value %q; want 1022, valid, the value as it was", len(rec.Key), utf8.Valid(rec.Key), rec.Value)
	}
	if len(rec.Headers) != 1 || rec.Headers[0].Key != HeaderOriginalBytes || string(rec.Headers[0].Value) != strconv.Itoa(before) {
		t.Errorf("headers %v; want %s: %d", rec.Headers, HeaderOriginalBytes, before)
	}
}
