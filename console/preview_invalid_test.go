package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestPreviewCountsRecordsLiveDeadLetters: a lake file an archiver wrote before rows
// were checked (lakehouse.FileEntry.Checked false) keeps records live dead-letters — a
// value that is not JSON, a record without a key, a key that is not UTF-8. The preview
// reports them in invalid, exactly as many as live's dead letters for the same records,
// and counts none of them as a match or a customer (the keyless and the bad-key ones
// are login failures too). No API test read invalid: a preview that never counted
// them passed every test.
func TestPreviewCountsRecordsLiveDeadLetters(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	failed := event{customer: "acme", typ: "login.failed", at: at}
	other := event{customer: "acme", typ: "login.ok", at: at}
	recs := []*kgo.Record{
		failed.record(),
		{Topic: "events", Key: []byte("acme"), Value: []byte(`{"type":"login.failed"`), Timestamp: at}, // invalid_json
		other.record(),
		{Topic: "events", Value: []byte(failed.json()), Timestamp: at},                           // missing_key
		{Topic: "events", Key: []byte("acme-\xff"), Value: []byte(failed.json()), Timestamp: at}, // invalid_key
		failed.record(),
	}
	for _, r := range recs {
		r.Partition = 0
	}
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing the events: %v", err)
	}

	// Live: the three are dead letters, each with its reason; the archiver keeps no
	// row of them.
	d.b.WaitTopicRecords(t, "events.dlq", 3, 30*time.Second)
	var reasons []string
	for _, r := range d.b.Consume(t, "events.dlq", 3, 30*time.Second) {
		for _, h := range r.Headers {
			if h.Key == ingest.HeaderReason {
				reasons = append(reasons, string(h.Value))
			}
		}
	}
	slices.Sort(reasons)
	if want := []string{ingest.ReasonInvalidJSON, ingest.ReasonInvalidKey, ingest.ReasonMissingKey}; !slices.Equal(reasons, want) {
		t.Fatalf("live dead-lettered with reasons %q, want %q", reasons, want)
	}
	d.waitLake(t, 3)

	// An older archiver's file of the same records, every one kept.
	rows := make([]lakehouse.Row, len(recs))
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("record %d is at offset %d", i, r.Offset)
		}
		rows[i] = lakehouse.Row{Partition: 0, Offset: r.Offset, EventTime: r.Timestamp, IngestTime: r.Timestamp, Customer: string(r.Key), Payload: string(r.Value)}
	}
	url := writeUncheckedLake(t, rows)
	previewURL, _ := boundedConsole(t, d, console.Config{Backend: lakeAt{d.ConsoleBackend(), url}})

	var p console.PreviewResult
	if resp := call(t, "POST", previewURL+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	if p.Sample.Events != len(recs) || p.Invalid != len(reasons) {
		t.Errorf("preview sampled %d events, %d invalid; want %d, %d (live's dead letters)", p.Sample.Events, p.Invalid, len(recs), len(reasons))
	}
	want := []console.PreviewCustomer{{Customer: "acme", Matches: 2}}
	if p.Matches != 2 || !slices.Equal(p.Customers, want) || p.CustomersTotal != 1 || len(p.WouldAlert) != 0 {
		t.Errorf("preview: %d matches, customers %+v (total %d), would alert %v; want 2, %+v (1), none",
			p.Matches, p.Customers, p.CustomersTotal, p.WouldAlert, want)
	}
}

// lakeAt is a backend whose lake is at url.
type lakeAt struct {
	console.Backend
	url string
}

func (l lakeAt) LakeURL() string { return l.url }

// writeUncheckedLake writes rows, of partition 0 at offsets 0 on, as one file of a new
// file lake, listed by manifest version 1 as an archiver before the acceptance check
// did (not marked checked, every record kept as it came), and returns the lake's URL.
func writeUncheckedLake(t *testing.T, rows []lakehouse.Row) string {
	t.Helper()
	bkt, dir := lakehousetest.FileBucket(t)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, lakehouse.Schema)
	defer bld.Release()
	first, last := rows[0], rows[len(rows)-1]
	e := lakehouse.FileEntry{Partition: 0, StartOffset: first.Offset, EndOffset: last.Offset, MinOffset: first.Offset, MaxOffset: last.Offset,
		Rows: int64(len(rows)), RowGroups: 1, Created: time.Now().UTC(), MinTime: first.EventTime, MaxTime: first.EventTime,
		MinCustomer: first.Customer, MaxCustomer: first.Customer}
	for _, r := range rows {
		bld.Field(0).(*array.Int32Builder).Append(r.Partition)
		bld.Field(1).(*array.Int64Builder).Append(r.Offset)
		bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.IngestTime.UnixMicro()))
		// Bytes as given (a key that is not UTF-8 included): the string builder would
		// not check them, nor did older archivers.
		bld.Field(4).(*array.StringBuilder).BinaryBuilder.Append([]byte(r.Customer))
		bld.Field(5).(*array.StringBuilder).BinaryBuilder.Append([]byte(r.Payload))
		e.RawBytes += int64(len(r.Payload))
		e.MinCustomer, e.MaxCustomer = min(e.MinCustomer, r.Customer), max(e.MaxCustomer, r.Customer)
		e.MinTime, e.MaxTime = minTime(e.MinTime, r.EventTime), maxTime(e.MaxTime, r.EventTime)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(lakehouse.Schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e.Bytes = int64(buf.Len())
	e.Path = fmt.Sprintf("data/p=0000/h=%s/%020d-%020d-legacy.parquet", e.MinTime.UTC().Format("2006-01-02T15"), e.StartOffset, e.EndOffset)
	ctx := context.Background()
	if err := bkt.Put(ctx, e.Path, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "legacy",
		Files:      []lakehouse.FileEntry{e},
		Partitions: []lakehouse.PartitionState{{Partition: 0, Watermark: e.EndOffset, Earliest: e.StartOffset, EarliestTime: e.MinTime}}}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
