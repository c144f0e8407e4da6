package live

import (
	"testing"
)

// TestReadinessChecksFinishingOutOfOrderCountALimitOnce: two probes in parallel, the
// first finding a produce stall, the second (begun later) finding it cleared and
// noting first; then a third finds the stall back. The stall is counted once for its
// first occurrence and once for its return: the first probe, finishing last, counted
// it again as new.
func TestReadinessChecksFinishingOutOfOrderCountALimitOnce(t *testing.T) {
	var r readiness
	reached := 0
	count := func(string) { reached++ }
	stall := map[string]string{"produce stall alerts": limitProduceStall}

	first := r.startCheck()
	r.noteBlocking(r.startCheck(), stall, count) // an earlier probe sees the stall start
	second := r.startCheck()
	r.noteBlocking(second, map[string]string{}, count) // cleared
	r.noteBlocking(first, stall, count)                // began before second: too late
	if reached != 1 {
		t.Fatalf("after the out-of-order probe: reached %d times, want 1 (the stall's start)", reached)
	}
	r.noteBlocking(r.startCheck(), stall, count) // the stall is back
	if reached != 2 {
		t.Errorf("after the stall came back: reached %d times, want 2", reached)
	}
}
