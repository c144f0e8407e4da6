package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// futureRecordLake writes, by hand, a lake of one partition of 4 files of 3 records of
// 2026-01-01 (ingested then), the first also holding a record stamped 2100 (it joined
// the open file: its hour is later). knownIngest false writes the entries as older
// versions did, without max_ingest_time.
func futureRecordLake(t *testing.T, knownIngest bool) lakehouse.Bucket {
	t.Helper()
	ctx := context.Background()
	bkt, _ := lakehousetest.FileBucket(t)
	old := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "test"}
	var off int64
	for f := range 4 {
		var rs []lakehouse.Row
		for i := range 3 {
			at := old.Add(time.Duration(f*3+i) * time.Minute)
			if f == 0 && i == 2 {
				at = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // joins the open file: its hour is later
			}
			rs = append(rs, lakehouse.Row{Partition: 0, Offset: off, EventTime: at, IngestTime: old, Customer: "c1", Payload: `{"type":"login"}`})
			off++
		}
		data, e, err := lakehouse.EncodeRows(0, rs[0].Offset, rs, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if !knownIngest {
			e.MaxIngestTime = time.Time{}
		}
		e.Path = fmt.Sprintf("data/p=0000/h=2026-01-01T09/%020d-%020d-%08x.parquet", e.StartOffset, e.EndOffset, f)
		e.Bytes, e.Created = int64(len(data)), time.Now().UTC()
		if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, e)
	}
	m.Partitions = []lakehouse.PartitionState{{Partition: 0, Watermark: off - 1, EarliestTime: old}}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return bkt
}

// retention30d is a pass of 30 days' retention on 2026-12-05.
var retention30d = lakehouse.MaintenanceConfig{Retention: 30 * 24 * time.Hour, CompactSmallBytes: 1,
	DeleteDelay: time.Hour, Now: func() time.Time { return time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) }}

// Retention drops a partition's leading files whose newest event is older than the
// period. Record times are the producer's: one record stamped in the future (a wrong
// producer clock, year 2100) in a partition's first file kept that file, and so every
// file after it, however old, for ever: the lake of that partition grew without bound
// and the pass said nothing (no file expired, no error, no log line, nothing in the
// report), as if nothing were older than the period. A file is judged by its newest
// event time but no later than an hour past its newest ingest time (max_ingest_time):
// a record cannot have happened after the archiver read it.
func TestRetentionNotHeldByAFutureRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := futureRecordLake(t, true)
	rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(ctx, retention30d)
	t.Logf("retention 30d on 2026-12-05 over 4 files of 2026-01-01 (the first also holding a record of 2100): %+v, %v", rep, err)
	if err == nil && rep.FilesExpired == 0 {
		t.Errorf("retention of 30 days dropped none of 4 files of 2026-01-01 (%d records of 12 are that old), and said nothing", 11)
	}
	if err != nil || rep.FilesExpired != 4 || rep.RetentionHeld != 0 {
		t.Errorf("retention of 30 days: %d files expired, %d partitions held, err %v; want all 4 files (archived on 2026-01-01) expired", rep.FilesExpired, rep.RetentionHeld, err)
	}
	snap, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The newest event time dropped is the record of 2100's: history from any time up
	// to then lacks it, and says so (PartitionState.DroppedReaches).
	if st, _ := snap.Partition(0); !st.DroppedTime.Equal(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dropped_time %v, want the record of 2100's", st.DroppedTime)
	}
}

// Files of older versions say no ingest time: retention judges them by their newest
// event alone, and a partition so held is said (MaintenanceReport.RetentionHeld, a
// warning), not passed over in silence.
func TestRetentionHeldByAFutureRecordIsSaid(t *testing.T) {
	t.Parallel()
	bkt := futureRecordLake(t, false)
	rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(context.Background(), retention30d)
	if err != nil || rep.FilesExpired != 0 || rep.RetentionHeld != 1 {
		t.Errorf("retention of 30 days over files of unknown ingest time, the first holding a record of 2100: %d files expired, %d partitions held, err %v; want none expired, 1 partition held", rep.FilesExpired, rep.RetentionHeld, err)
	}
}
