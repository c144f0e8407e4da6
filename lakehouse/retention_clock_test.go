package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestOneFutureRecordDoesNotStopRetention: retention drops, per partition, the leading files
// whose newest event (max_time, from record timestamps) is older than the period, and
// stops at the first that is not. One record stamped in the future (a producer's clock
// off, a timestamp in the wrong unit: year 2200 is a valid Kafka timestamp, read
// unwrapped) makes its file's max_time 2200: that file and every later file of the
// partition were then kept for ever, however old, and nothing said so (retentionTime
// now caps it an hour past the file's ingest time). Here partition 0
// holds three files archived 40, 30 and 20 days ago, the first with one record stamped
// 2200; with a retention of 7 days the two later files, all of whose events are 30
// and 20 days old, must go (and the first, archived 40 days ago, too).
func TestOneFutureRecordDoesNotStopRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, testLogger())
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ages := []time.Duration{40 * 24 * time.Hour, 30 * 24 * time.Hour, 20 * 24 * time.Hour}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: now, Writer: "test"}
	var off int64
	for i, age := range ages {
		at := now.Add(-age)
		rows := []lakehouse.Row{
			{Partition: 0, Offset: off, EventTime: at, IngestTime: at, Customer: "c-1", Payload: `{"type":"a"}`},
			{Partition: 0, Offset: off + 1, EventTime: at.Add(time.Second), IngestTime: at, Customer: "c-1", Payload: `{"type":"a"}`},
		}
		if i == 0 {
			rows[1].EventTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) // one bad clock
		}
		data, e, err := lakehouse.EncodeRows(0, off, rows, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		e.Path = fmt.Sprintf("data/p=0000/h=%s/%020d-%020d-0a1b2c3%d.parquet", at.Format("2006-01-02T15"), e.StartOffset, e.EndOffset, i)
		e.Bytes = int64(len(data))
		e.Created = at
		if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, e)
		off += 2
	}
	m.Partitions = []lakehouse.PartitionState{{Partition: 0, Watermark: off - 1, Earliest: 0, EarliestTime: m.Files[0].MinTime}}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(mj)); err != nil {
		t.Fatal(err)
	}
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1, Retention: 7 * 24 * time.Hour, DeleteDelay: -1,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := lake.Snapshot(ctx)
	var left []string
	for _, f := range snap.Files(lakehouse.Filter{}) {
		left = append(left, fmt.Sprintf("%s (min %s, max %s)", f.Path, f.MinTime.Format(time.DateOnly), f.MaxTime.Format(time.DateOnly)))
	}
	if rep.FilesExpired < 2 {
		t.Errorf("retention of 7 days expired %d files; the files of events 30 and 20 days old are kept behind one whose record is stamped 2200: %v", rep.FilesExpired, left)
	}
}

// TestRecordsWithoutTimestampAreJudgedByIngestTime: a producer that sets no timestamp (Kafka's
// -1; every pre-0.10 client, converted by the broker) gives records whose time reads
// as 1969-12-31T23:59:59.999Z. A file of such records, archived a minute ago, has
// max_time 1969 and the first maintenance pass with any retention dropped it: the lake
// kept none of that producer's events. It is judged by its ingest time now.
func TestRecordsWithoutTimestampAreJudgedByIngestTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, testLogger())
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	archived := now.Add(-time.Minute)
	rows := []lakehouse.Row{
		{Partition: 0, Offset: 0, EventTime: time.UnixMilli(-1), IngestTime: archived, Customer: "c-1", Payload: `{"type":"a"}`},
		{Partition: 0, Offset: 1, EventTime: time.UnixMilli(-1), IngestTime: archived, Customer: "c-1", Payload: `{"type":"a"}`},
	}
	data, e, err := lakehouse.EncodeRows(0, 0, rows, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	e.Path = "data/p=0000/h=1969-12-31T23/00000000000000000000-00000000000000000001-0a1b2c3d.parquet"
	e.Bytes = int64(len(data))
	e.Created = archived
	if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: archived, Writer: "test",
		Partitions: []lakehouse.PartitionState{{Partition: 0, Watermark: 1, Earliest: 0, EarliestTime: e.MinTime}}, Files: []lakehouse.FileEntry{e}}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(mj)); err != nil {
		t.Fatal(err)
	}
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1, Retention: 30 * 24 * time.Hour, DeleteDelay: -1,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesExpired != 0 {
		t.Errorf("a file archived a minute ago, of records without a timestamp (-1), was expired by a 30-day retention at once (%d files expired; max_time %s)", rep.FilesExpired, e.MaxTime.Format(time.RFC3339Nano))
	}
}
