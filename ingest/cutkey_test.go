package ingest

import (
	"errors"
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

// TestCutKeyAtItsBound: a key of exactly n bytes is within the bound: not cut, and no
// HeaderOriginalBytes added.
func TestCutKeyAtItsBound(t *testing.T) {
	t.Parallel()
	rec := &kgo.Record{Key: []byte("c-1234"), Value: []byte(`{"a":1}`)}
	if CutKey(rec, len(rec.Key)) || string(rec.Key) != "c-1234" || len(rec.Headers) != 0 {
		t.Errorf("a key of 6 bytes bound to 6: cut to %q, headers %v; want it as it was", rec.Key, rec.Headers)
	}
}

// TestCutFurtherDropsTheLastOriginalHeader: a dead letter cut before (it ends in
// HeaderOriginalBytes), refused by its topic and cut further to no more than its own
// headers, loses every header of the original record, the last one too: only the
// dead-letter headers and HeaderOriginalBytes stay.
func TestCutFurtherDropsTheLastOriginalHeader(t *testing.T) {
	t.Parallel()
	src := &kgo.Record{Topic: "events", Partition: 2, Offset: 9, Key: []byte("customer"), Value: []byte(strings.Repeat("v", 500)),
		Headers: []kgo.RecordHeader{{Key: "first", Value: []byte(strings.Repeat("a", 40))}, {Key: "last", Value: []byte(strings.Repeat("z", 40))}}}
	rec := DeadLetter(src, "events.dlq", ReasonInvalidJSON, errors.New("bad"))
	if !CutDeadLetter(rec, RecordBytes(rec)-100) {
		t.Fatal("the dead letter was not cut by 100 bytes")
	}
	if n := len(rec.Headers); n != 2+deadLetterHeaders+1 || rec.Headers[n-1].Key != HeaderOriginalBytes {
		t.Fatalf("after the first cut: headers %v, want the two original ones, the dead letter's and %s", rec.Headers, HeaderOriginalBytes)
	}
	if !cutFurther(rec, 1) {
		t.Fatal("cutFurther to 1 byte did not cut")
	}
	var keys []string
	for _, h := range rec.Headers {
		keys = append(keys, h.Key)
	}
	want := []string{HeaderReason, HeaderError, HeaderTopic, HeaderPartition, HeaderOffset, HeaderOriginalBytes}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("headers after cutting further: %v, want %v", keys, want)
	}
	if len(rec.Key) != 0 || len(rec.Value) != 0 {
		t.Errorf("key %d bytes, value %d; want both gone", len(rec.Key), len(rec.Value))
	}
}
