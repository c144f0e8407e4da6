package live

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// TestSnapshotRefusedForSizeTriedAtTheDocumentedRounds: a partition whose snapshots
// are refused for their size is tried again 1, 2, 4, 8, 16, 16… snapshot intervals
// after each refusal, as --max-snapshot-bytes documents, when each round's attempt
// begins a little after the round, later in some rounds than in others (other partitions
// first). Counted from the refusal (after the encoding), or from the attempt's begin
// alone, a gap was an interval longer whenever the next round's attempt began earlier
// after its round.
func TestSnapshotRefusedForSizeTriedAtTheDocumentedRounds(t *testing.T) {
	const interval = 30 * time.Second
	d := &Daemon{cfg: Config{SnapshotInterval: interval}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p := &partition{}
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var tried []int
	for round := range 80 {
		// How long after the round its attempt of this partition begins varies with
		// the partitions before it.
		began := start.Add(time.Duration(round)*interval + time.Duration(round%3)*40*time.Millisecond)
		if p.snaps.tooLarge != nil && began.Before(p.snaps.retryAt) {
			continue // deferred, as snapshotPartition decides
		}
		tried = append(tried, round)
		d.refusedForSize(p, 0, "interval", errors.New("too large"), began)
	}
	want := []int{0, 1, 3, 7, 15, 31, 47, 63, 79}
	if !slices.Equal(tried, want) {
		t.Errorf("rounds tried %v, want %v (gaps of 1, 2, 4, 8, 16 intervals, then 16)", tried, want)
	}
}
