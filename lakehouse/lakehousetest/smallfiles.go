package lakehousetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// SmallFilesLake writes, by hand (no Kafka), a lake of parts partitions, each of files
// small checked files of rows rows in one hour (2026-03-01T09), typed under cols (nil:
// none), listed by manifest v1: what compaction merges. It returns the data objects'
// names.
func SmallFilesLake(t testing.TB, bkt lakehouse.Bucket, parts int32, files, rows int, cols *lakehouse.ColumnSet) map[string]bool {
	t.Helper()
	ctx := context.Background()
	hour := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	names := map[string]bool{}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "test"}
	for p := range parts {
		var off int64
		for f := range files {
			var rs []lakehouse.Row
			for i := range rows {
				rs = append(rs, lakehouse.Row{Partition: p, Offset: off, EventTime: hour.Add(time.Duration(f*rows+i) * time.Second),
					IngestTime: hour, Customer: fmt.Sprintf("c%d", i%3), Payload: fmt.Sprintf(`{"type":"login","n":%d}`, off)})
				off++
			}
			data, e, err := lakehouse.EncodeRows(p, rs[0].Offset, rs, cols, true)
			if err != nil {
				t.Fatal(err)
			}
			e.Path = fmt.Sprintf("data/p=%04d/h=2026-03-01T09/%020d-%020d-%08x.parquet", p, e.StartOffset, e.EndOffset, f)
			e.Bytes, e.Created = int64(len(data)), time.Now().UTC()
			if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			names[e.Path] = true
			m.Files = append(m.Files, e)
		}
		m.Partitions = append(m.Partitions, lakehouse.PartitionState{Partition: p, Watermark: off - 1, EarliestTime: hour})
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return names
}
