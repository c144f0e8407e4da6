package lakehouse_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A producer may stamp a record with any time; Kafka keeps it and the archiver files
// the record under the hour of its timestamp (data/p=…/h=YYYY-MM-DDTHH/…), its times in
// the manifest as RFC 3339. A timestamp in year 10000 made a manifest json could not
// encode ("Time.MarshalJSON: year outside of range [0,9999]"): the commit was retried
// as a storage outage for ever, and the partition's archive stopped there, the records
// after it never archived. The lake holds the years 0000 to 9999 (as window takes event
// times): such a record is archived at the nearest bound, its file's hour and times too.
func TestArchiverFilesARecordStampedPastYear9999(t *testing.T) {
	t.Parallel()
	bound := time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
	for _, at := range []time.Time{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		bkt, _ := lakehousetest.FileBucket(t)
		wp, err := lakehouse.NewWritePath(lakehouse.ArchiverConfig{Bucket: bkt, Logger: testLogger(), RollAge: 50 * time.Millisecond,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, bkt, []int32{0})
		if err != nil {
			t.Fatal(err)
		}
		recs := []*kgo.Record{
			{Topic: "events", Partition: 0, Offset: 0, Key: []byte("c1"), Value: []byte(`{"type":"login"}`), Timestamp: at},
			{Topic: "events", Partition: 0, Offset: 1, Key: []byte("c1"), Value: []byte(`{"type":"login"}`), Timestamp: at.Add(time.Second)},
		}
		wp.Poll([]kgo.FetchTopicPartition{{Topic: "events", FetchPartition: kgo.FetchPartition{Partition: 0, Records: recs}}})
		// Close seals the open file and waits for it to be flushed and committed.
		closed := make(chan error, 1)
		go func() { closed <- wp.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("stamped %v: close: %v", at, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("stamped %v: the write path has not flushed its file 15 s on", at)
		}
		lake := lakehouse.NewLake(bkt, testLogger())
		snap, err := lake.Snapshot(context.Background())
		if err != nil || snap.Watermark(0) < 1 {
			var wm int64 = -1
			if err == nil {
				wm = snap.Watermark(0)
			}
			t.Errorf("stamped %v: the lake's watermark of partition 0 is %d (snapshot err %v): records 0–1 are not archived", at, wm, err)
			continue
		}
		f := snap.Files(lakehouse.Filter{})[0]
		t.Logf("stamped %v: archived in %v", at, f.Path)
		if at.Year() < 10000 {
			continue
		}
		rows, err := lake.ReadRows(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.Path, "/h=9999-12-31T23/") || !f.MinTime.Equal(bound) || !f.MaxTime.Equal(bound) ||
			len(rows) != 2 || !rows[0].EventTime.Equal(bound) || !rows[1].EventTime.Equal(bound) {
			t.Errorf("stamped %v: file %s of times %v–%v, rows %+v; want the hour 9999-12-31T23 and every time %v", at, f.Path, f.MinTime, f.MaxTime, rows, bound)
		}
	}
}

// Rows written outside the archiver (EncodeRows: tools, tests) are bounded the same
// way: the entry's times, which the manifest carries as RFC 3339, encode.
func TestEncodeRowsBoundsTimesToTheLakesYears(t *testing.T) {
	t.Parallel()
	rows := []lakehouse.Row{
		{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), IngestTime: time.Now(), Customer: "c1", Payload: `{"type":"login"}`},
		{Offset: 1, EventTime: time.UnixMilli(-70_000_000_000_000).UTC(), IngestTime: time.Now(), Customer: "c1", Payload: `{"type":"login"}`},
	}
	_, e, err := lakehouse.EncodeRows(0, 0, rows, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); !e.MinTime.Equal(want) {
		t.Errorf("min_time %v, want %v", e.MinTime, want)
	}
	if want := time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC); !e.MaxTime.Equal(want) {
		t.Errorf("max_time %v, want %v", e.MaxTime, want)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Errorf("the entry does not encode: %v", err)
	}
}
