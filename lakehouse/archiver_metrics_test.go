package lakehouse_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiverCountsEachRecordOnce holds the archiver's progress metrics to the records
// produced: once every record is committed, none is still counted as buffered. A
// buffered gauge left stale by a commit made archived+buffered count a file twice for
// up to a second, and the archive benchmark, which stops the archiver when that sum
// reaches the records it loaded, stopped it a file early.
func TestArchiverCountsEachRecordOnce(t *testing.T) {
	t.Parallel() // own broker and bucket
	const n = 4000
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt, _ := openTestBucket(t, "mem")
	h := newHistory(3)
	h.produce(t, b.Client(t), n)

	reg := prometheus.NewRegistry()
	cfg := archiverConfig(b, bkt, "metrics")
	cfg.Registerer = reg
	stop := startArchiver(t, cfg)
	defer stop()

	values := func() (read, archived, buffered float64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			m := mf.GetMetric()
			switch mf.GetName() {
			case "hindsight_lake_records_read_total":
				read = m[0].GetCounter().GetValue()
			case "hindsight_lake_records_archived_total":
				archived = m[0].GetCounter().GetValue()
			case "hindsight_lake_buffered_records":
				buffered = m[0].GetGauge().GetValue()
			}
		}
		return read, archived, buffered
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, archived, _ := values(); archived >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("archived %v of %d records within 60s", func() float64 { _, a, _ := values(); return a }(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// The commit that archived the last records also emptied the buffer; allow the few
	// microseconds between its two metric updates, not a poll interval.
	time.Sleep(5 * time.Millisecond)
	read, archived, buffered := values()
	if read != n || archived != n || buffered != 0 {
		t.Errorf("after every record was committed: read %v, archived %v, buffered %v; want %d, %d, 0", read, archived, buffered, n, n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	snap, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Stats().Rows; got != n {
		t.Errorf("lake holds %d rows, want %d", got, n)
	}
}

// TestStandaloneArchiverShowsLakeMaxColumns: `hindsight archive --lake-max-columns`
// (the README's limits table: "also hindsight archive") shows in the registry the
// archiver's --metrics-addr serves, with its other limits; it was missing.
func TestStandaloneArchiverShowsLakeMaxColumns(t *testing.T) {
	t.Parallel()
	b, bkt, _ := brokerAndLake(t, 1, "mem")
	cfg, reg := meteredArchiverConfig(b, bkt, "archiver")
	// What `hindsight archive --lake-columns $.a,$.b --lake-max-columns 2` builds.
	cfg.Columns = lakehouse.NewColumnSet(2)
	if err := cfg.Columns.Set([]string{"$.a", "$.b"}); err != nil {
		t.Fatal(err)
	}
	startArchiver(t, cfg)
	poll.Until(t, 20*time.Second, "the archiver to show archive_max_buffered_bytes", func() bool {
		return promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitMaxBufferedBytes) >= 0
	})
	if got := promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitColumns); got != 2 {
		t.Errorf(`hindsight_limit{name="lake_max_columns"} = %v (-1: absent), want 2 (--lake-max-columns)`, got)
	}
}
