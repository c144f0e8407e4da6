package workload

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestEventsAreValidRealisticAndSeeded(t *testing.T) {
	a, b := New(7, Config{Customers: 50}), New(7, Config{Customers: 50})
	minLen, maxLen := 1<<30, 0
	for i := range 5000 {
		ea, eb := a.Next(), b.Next()
		if !bytes.Equal(ea.JSON, eb.JSON) || ea.Customer != eb.Customer {
			t.Fatalf("event %d differs between two generators with the same seed", i)
		}
		var doc map[string]any
		if err := json.Unmarshal(ea.JSON, &doc); err != nil {
			t.Fatalf("event %d is not JSON: %v\n%s", i, err, ea.JSON)
		}
		if doc["customer"] != ea.Customer {
			t.Fatalf("event %d: customer field %v, key %s", i, doc["customer"], ea.Customer)
		}
		minLen, maxLen = min(minLen, len(ea.JSON)), max(maxLen, len(ea.JSON))
	}
	if minLen < 300 || maxLen > 800 {
		t.Fatalf("event sizes %d..%d bytes, want within 300..800", minLen, maxLen)
	}
	t.Logf("event sizes %d..%d bytes", minLen, maxLen)
	if c := New(8, Config{}).Next(); bytes.Equal(c.JSON, New(7, Config{}).Next().JSON) {
		t.Fatal("different seeds gave the same first event")
	}
}

func TestEventSizePadsToTheByte(t *testing.T) {
	plain, padded := New(3, Config{}), New(3, Config{Size: 2048})
	for i := range 1000 {
		p, e := plain.Next(), padded.Next()
		if len(e.JSON) != 2048 {
			t.Fatalf("event %d is %d bytes, want 2048", i, len(e.JSON))
		}
		var doc map[string]any
		if err := json.Unmarshal(e.JSON, &doc); err != nil {
			t.Fatalf("padded event %d is not JSON: %v\n%s", i, err, e.JSON)
		}
		note, _ := doc["note"].(string)
		if len(note) < 2048-800-20 || doc["customer"] != p.Customer {
			t.Fatalf("event %d: note of %d bytes, customer %v (unpadded %s)", i, len(note), doc["customer"], p.Customer)
		}
	}
	// Below the natural size nothing changes, and the unpadded stream stays as it was.
	a, b := New(3, Config{}), New(3, Config{Size: 100})
	for i := range 100 {
		if ea, eb := a.Next(), b.Next(); !bytes.Equal(ea.JSON, eb.JSON) {
			t.Fatalf("event %d: Size 100 changed the event", i)
		}
	}
}
