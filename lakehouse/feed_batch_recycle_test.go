package lakehouse

import "testing"

// TestRecycledFedBatchStartsWithoutVerdicts: a batch taken from the pool after one of
// more records was released knows no verdict for a record its handler did not reach,
// rather than the last batch's for that index. Found by a mutation hunt: grown not
// clearing the reused array passed every test.
func TestRecycledFedBatchStartsWithoutVerdicts(t *testing.T) {
	// What release leaves for the pool: the notes' arrays, sized for 3 records.
	b := &FedBatch{verdicts: []uint8{fedAccepted, fedRefused, fedAccepted}[:0], reasons: map[int]string{}}
	b.n = 3
	b.Refused(0, "invalid_json") // the handler reached record 0 only
	if reason, known := b.verdict(0); !known || reason != "invalid_json" {
		t.Errorf("record 0: verdict (%q, %v); want (invalid_json, true)", reason, known)
	}
	for i := 1; i < 3; i++ {
		if reason, known := b.verdict(i); known {
			t.Errorf("record %d, not reached: verdict (%q, known); want none known (the last batch's)", i, reason)
		}
	}
}
