package backfill

import (
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestPlanHolesLeaveOutTheRunWithoutEvents: the offsets right after the lake's
// watermark that an archiver read and found to hold no event (EmptyAfter) are no hole:
// the job reads neither the lake nor Kafka for them, and retention having passed them
// loses nothing. Holes below the watermark (a lost file) and above the run stay.
func TestPlanHolesLeaveOutTheRunWithoutEvents(t *testing.T) {
	files := []lakehouse.FileEntry{{StartOffset: 0, EndOffset: 9}, {StartOffset: 20, EndOffset: 29}} // 10–19 lost
	for _, tc := range []struct {
		name       string
		lakeStart  int64
		emptyAfter int64
		hi         int64
		want       []span
	}{
		{"no run", 0, 0, 39, []span{{10, 19}, {30, 39}}},
		{"a run up to the hand-off", 0, 10, 39, []span{{10, 19}}},
		{"a run, then offsets not archived yet", 0, 4, 39, []span{{10, 19}, {34, 39}}},
		{"a run past the hand-off", 0, 20, 35, []span{{10, 19}}},
		{"the hand-off within the files", 0, 10, 25, []span{{10, 19}}},
		{"a partition the lake lacks", -1, 10, 39, []span{{10, 19}, {30, 39}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := &partPlan{files: files, lakeStart: tc.lakeStart,
				lake: lakehouse.PartitionState{Watermark: 29, EmptyAfter: tc.emptyAfter}}
			if got := pl.holes(0, tc.hi); !slices.Equal(got, tc.want) {
				t.Errorf("holes up to %d = %v, want %v", tc.hi, got, tc.want)
			}
		})
	}
}
