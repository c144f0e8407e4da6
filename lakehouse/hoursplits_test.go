package lakehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestHourSplitsAreBounded: a producer stepping each record's timestamp an hour on
// made the archiver close a file per record (files are laid out by event-time hour),
// and compaction, by hour, never merges them: a helper's 300 events made 300 files,
// and the manifest grows 456 bytes an event until it is past what is read back. Now a
// partition closes at most --archive-max-hour-splits files per roll age for a later
// hour: the first 9 events take 9 files, the other 291 join the last, which spans their
// hours and says so, each counted as the limit reached.
func TestHourSplitsAreBounded(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	reg := prometheus.NewRegistry()
	cfg := archiverConfig(b, bkt, "g-hour-splits")
	cfg.RollAge, cfg.Registerer = time.Hour, reg // only the hours close files
	const n = 300
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"a":1}`), Timestamp: base.Add(time.Duration(i) * time.Hour)}
	}
	stop := startArchiver(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Client(t).ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitArchived(t, lake, map[int32]int64{0: lakehouse.DefaultMaxHourSplits - 1}, 60*time.Second)
	stopArchivers(t, stop) // closes the last file
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) != lakehouse.DefaultMaxHourSplits+1 {
		t.Fatalf("%d files for %d events an hour apart; want %d", len(files), n, lakehouse.DefaultMaxHourSplits+1)
	}
	last := files[len(files)-1]
	if last.Rows != n-lakehouse.DefaultMaxHourSplits || !last.MinTime.Equal(base.Add(lakehouse.DefaultMaxHourSplits*time.Hour)) || !last.MaxTime.Equal(base.Add((n-1)*time.Hour)) {
		t.Errorf("the last file holds %d rows from %v to %v; want %d, the hours of events %d to %d", last.Rows, last.MinTime, last.MaxTime,
			n-lakehouse.DefaultMaxHourSplits, lakehouse.DefaultMaxHourSplits, n-1)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitHourSplits); got != n-lakehouse.DefaultMaxHourSplits-1 {
		t.Errorf("hour splits refused %v times, want %d", got, n-lakehouse.DefaultMaxHourSplits-1)
	}
}
