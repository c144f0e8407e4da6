package controls

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// producerMaxRecordBytes is franz-go's default ProducerBatchMaxBytes (1,000,012), which
// the control reader's client keeps: a status record larger than it is refused before
// it is sent (kerr.MessageTooLarge), and so is never published.
const producerMaxRecordBytes = 1_000_012

// TestHugeKeyStatusFitsARecord: a control record whose key is huge (here 600 KB, the
// record well under Kafka's 1 MiB) and does not match its body is invalid, and its
// control-status record must be publishable: one per control record, nothing dropped.
// The status quoted the key in its message and problem as well as carrying it (and the
// rejected control did the same), four times the key's size, past the producer's bound:
// the key is carried cut to MaxKeyBytes and quoted cut to shownKeyBytes.
func TestHugeKeyStatusFitsARecord(t *testing.T) {
	key := "c-1/" + strings.Repeat("k", 600_000)
	val := `{"op":"upsert","rule":{"id":"r1","scope":"c-1","when":{"path":"$.type"},"threshold":2}}`
	rec := Decode([]byte(key), []byte(val), 0, 7, time.Unix(1_700_000_000, 0))
	if rec.Err == nil {
		t.Fatalf("a key that is not the rule's was taken: %+v", rec.Control)
	}
	g := NewRegistry()
	status, msg := g.Apply(rec)
	if status != contract.ControlInvalid {
		t.Fatalf("status %s %.100s, want invalid", status, msg)
	}
	st, err := json.Marshal(rec.Status(status, msg, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	recordBytes := len(key) + len(val)
	if n := len(st) + len(key); n > producerMaxRecordBytes {
		t.Errorf("the control record is %d bytes, its status record (key and value) %d bytes, over the producer's %d: the status is never published", recordBytes, n, producerMaxRecordBytes)
	}
	if rj := g.Rejected(); len(rj) == 1 && len(rj[0].Error) > 64<<10 {
		t.Errorf("the rejected control's error is %d bytes: it quotes the whole key (held %d times over by --max-rejected-controls)", len(rj[0].Error), 100)
	}
	if s := rec.Status(status, msg, time.Now()); s.KeyBytes != len(key) || len(s.Key) != MaxKeyBytes || !strings.HasPrefix(key, s.Key) {
		t.Errorf("status key of %d bytes, key_bytes %d: want the key's first %d bytes and its size %d", len(s.Key), s.KeyBytes, MaxKeyBytes, len(key))
	}
}

// TestStatusOfAnyControlFitsARecord: whatever a control record that fits the topic
// (1 MiB) holds, its status, key and value as encoding/json writes them (a byte that
// is not UTF-8 or a control character as a six-byte escape), fits the producer's
// record, and its rejected control is as bounded: a key, an id, a name or problems of
// any size are cut. A status of a valid control carries its key whole, so that rules
// apply and the console match it to their control by key and offset.
func TestStatusOfAnyControlFitsARecord(t *testing.T) {
	escaped := func(n int) string { return strings.Repeat("\x01", n) } // "\u0001" in JSON
	manyOps := `{"path":"$.a","op":"<<"}` + strings.Repeat(`,{"path":"$.a","op":"<<"}`, 9_000)
	for _, tc := range []struct{ name, key, value string }{
		{"key of control characters", "c-1/" + escaped(1_000_000), `{"op":"upsert","rule":{"id":"r1","scope":"c-1","when":{"path":"$.type"},"threshold":2}}`},
		{"key not UTF-8", "\xff" + strings.Repeat("\xfe", 1_000_000), `{"op":"delete","scope":"*","id":"r"}`},
		{"tombstone key", strings.Repeat("<", 1_000_000), ""},
		{"delete of a huge id", "*/" + strings.Repeat("<", 200_000), `{"op":"delete","scope":"*","id":"` + strings.Repeat("<", 200_000) + `"}`},
		{"mute of a huge id and rule", "mute:*/m", `{"op":"upsert","mute":{"scope":"*","id":"` + strings.Repeat("<", 100_000) + `","rule":"` + strings.Repeat(">", 100_000) + `"}}`},
		{"many problems", "*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","when":{"all":[` + manyOps + `]},"threshold":2}}`},
	} {
		var value []byte
		if tc.value != "" {
			value = []byte(tc.value)
		}
		rec := Decode([]byte(tc.key), value, 0, 1, time.Unix(1_700_000_000, 0))
		g := NewRegistry()
		status, msg := g.Apply(rec)
		if status != contract.ControlInvalid {
			t.Errorf("%s: %s, want invalid", tc.name, status)
			continue
		}
		s := rec.Status(status, msg, time.Now())
		st, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(st) + len(s.Key); n > producerMaxRecordBytes/2 {
			t.Errorf("%s: the control record is %d bytes, its status record %d", tc.name, len(tc.key)+len(tc.value), n)
		}
		rj, err := json.Marshal(g.Rejected())
		if err != nil {
			t.Fatal(err)
		}
		if len(rj) > producerMaxRecordBytes/4 {
			t.Errorf("%s: the rejected control is %d bytes of JSON", tc.name, len(rj))
		}
		if len(msg) > MaxMessageBytes+32 {
			t.Errorf("%s: the outcome's message (logged) is %d bytes", tc.name, len(msg))
		}
	}
	// The longest key a valid control has is carried whole.
	scope := strings.Repeat("s", 256)
	key := "destination:" + scope + "/" + strings.Repeat("n", 128)
	rec := Decode([]byte(key), []byte(`{"op":"delete","kind":"destination","scope":"`+scope+`","id":"`+strings.Repeat("n", 128)+`"}`), 0, 1, time.Unix(1, 0))
	if rec.Err != nil {
		t.Fatal(rec.Err)
	}
	if s := rec.Status(contract.ControlNotFound, "", time.Now()); s.Key != key || s.KeyBytes != 0 {
		t.Errorf("a valid control's status key %q (key_bytes %d), want %q whole", s.Key, s.KeyBytes, key)
	}
}
