package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// outageSmallFilesLake writes, through bkt, a lake of parts partitions of three small files
// each (one hour), listed by manifest v1; it returns the data objects' names.
func outageSmallFilesLake(t *testing.T, bkt lakehouse.Bucket, parts int32, cols *lakehouse.ColumnSet) map[string]bool {
	t.Helper()
	ctx := context.Background()
	hour := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	names := map[string]bool{}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "test"}
	for p := range parts {
		var off int64
		for f := range 3 {
			var rs []lakehouse.Row
			for i := range 5 {
				rs = append(rs, lakehouse.Row{Partition: p, Offset: off, EventTime: hour.Add(time.Duration(f*5+i) * time.Second),
					IngestTime: hour, Customer: fmt.Sprintf("c%d", i), Payload: `{"type":"login"}`})
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

// README (Limits, --storage-timeout): storage that fails or hangs is "retried as any
// outage (...; then the archiver, compaction and the snapshot store back off and
// retry, ...; a one-shot command exits with the error)". `hindsight lake compact` is a
// one-shot command: when the store goes away in the middle of its pass (here: after
// its first merged file is uploaded) it retries for --storage-patience (30 s), then
// exits with the error. It had retried for ever, with or without --storage-timeout,
// so a cron job's runs piled up while the store was down.
func TestLakeCompactExitsWhenStorageFailsMidPass(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out lake compact's --storage-patience (30 s) on a stopped store: make test runs it")
	}
	t.Parallel()
	srv := s3test.Start(t, "lake")
	bkt := lakehousetest.OpenBucket(t, srv.URL())
	before := outageSmallFilesLake(t, bkt, 40, nil)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := run(t, "", "lake", "compact", "--lake", srv.URL(), "--storage-timeout", "1s")
		done <- result{out, err}
	}()
	// Stop the store as soon as the pass has uploaded a merged file.
	stopped := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !stopped; {
		select {
		case r := <-done:
			t.Skipf("the pass ended before the store could be stopped: %v\n%s", r.err, r.out)
		default:
		}
		_ = bkt.List(context.Background(), "data/", func(a lakehouse.ObjectAttributes) error {
			if !before[a.Name] && !stopped {
				srv.Stop()
				stopped = true
				t.Logf("store stopped after %s was uploaded", a.Name)
			}
			return nil
		})
		time.Sleep(2 * time.Millisecond)
	}
	if !stopped {
		t.Fatal("no merged file was uploaded")
	}
	defer func() { _ = srv.Restart() }()
	select {
	case r := <-done:
		t.Logf("lake compact returned: exit %d, %v\n%s", exitCode(r.err), r.err, r.out)
		if r.err == nil {
			t.Errorf("lake compact succeeded with its store down")
		} else if !strings.Contains(r.err.Error(), "storage failing for") {
			t.Errorf("lake compact's error does not say storage kept failing: %v", r.err)
		}
	case <-time.After(90 * time.Second):
		t.Errorf("lake compact has not exited 90 s after its store went down (--storage-timeout 1s): a one-shot command exits with the error")
	}
}
