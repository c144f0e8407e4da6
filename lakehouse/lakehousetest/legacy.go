package lakehousetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// WriteLegacyLake writes into bkt a lake as an archiver before the acceptance check left
// it: per partition, files of rows in offset order, each file starting where the one
// before ended (the first at its first row's offset), and manifest version 1 listing
// them, not marked checked. Rows are kept byte for byte, whatever they hold (JSON that
// is not, keys that are not UTF-8 or are empty), because such lakes are still read:
// tests of the readers (backfill, backtest, the console's preview) need files that hold
// what live dead-letters, which today's archiver no longer writes. A row's ingest time
// is its event time when it has none. It returns the manifest's files.
func WriteLegacyLake(tb testing.TB, bkt lakehouse.Bucket, files map[int32][][]lakehouse.Row) []lakehouse.FileEntry {
	tb.Helper()
	ctx := context.Background()
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "legacy"}
	// Partitions in order, as an archiver lists them; the bound stops at the last one
	// given without scanning all of int32.
	for p := int32(0); int(p) < len(files)+100 && len(m.Partitions) < len(files); p++ {
		fs, ok := files[p]
		if !ok {
			continue
		}
		first := len(m.Files)
		next := fs[0][0].Offset
		for i, rows := range fs {
			data, e := LegacyFile(tb, p, rows)
			e.StartOffset = next
			e.Path = fmt.Sprintf("data/p=%04d/h=%s/%020d-%020d-%08x.parquet", p, e.MinTime.UTC().Format("2006-01-02T15"), e.StartOffset, e.EndOffset, i)
			next = e.EndOffset + 1
			if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
				tb.Fatal(err)
			}
			m.Files = append(m.Files, e)
		}
		start := m.Files[first]
		m.Partitions = append(m.Partitions, lakehouse.PartitionState{Partition: p, Watermark: next - 1, Earliest: start.StartOffset, EarliestTime: start.MinTime})
	}
	js, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(js)); err != nil {
		tb.Fatal(err)
	}
	return m.Files
}

// LegacyFile encodes rows (in offset order) of partition p as an older archiver did,
// with the lake's schema and bytes as given, and returns the file with its entry, not
// marked checked. The entry starts at its first row's offset; Path is left to the
// caller.
func LegacyFile(tb testing.TB, p int32, rows []lakehouse.Row) ([]byte, lakehouse.FileEntry) {
	tb.Helper()
	bld := array.NewRecordBuilder(memory.DefaultAllocator, lakehouse.Schema)
	defer bld.Release()
	first, last := rows[0], rows[len(rows)-1]
	e := lakehouse.FileEntry{Partition: p, StartOffset: first.Offset, EndOffset: last.Offset, MinOffset: first.Offset, MaxOffset: last.Offset,
		Rows: int64(len(rows)), RowGroups: 1, Created: time.Now().UTC(), MinTime: first.EventTime, MaxTime: first.EventTime,
		MinCustomer: first.Customer, MaxCustomer: first.Customer}
	for _, r := range rows {
		ingest := r.IngestTime
		if ingest.IsZero() {
			ingest = r.EventTime
		}
		bld.Field(0).(*array.Int32Builder).Append(p)
		bld.Field(1).(*array.Int64Builder).Append(r.Offset)
		bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(ingest.UnixMicro()))
		// BinaryBuilder under the string type: bytes as given (a key that is not UTF-8
		// included), not validated, as older archivers wrote them.
		bld.Field(4).(*array.StringBuilder).BinaryBuilder.Append([]byte(r.Customer))
		bld.Field(5).(*array.StringBuilder).BinaryBuilder.Append([]byte(r.Payload))
		e.RawBytes += int64(len(r.Payload))
		e.MinCustomer, e.MaxCustomer = min(e.MinCustomer, r.Customer), max(e.MaxCustomer, r.Customer)
		if r.EventTime.Before(e.MinTime) {
			e.MinTime = r.EventTime
		}
		if r.EventTime.After(e.MaxTime) {
			e.MaxTime = r.EventTime
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(lakehouse.Schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	e.Bytes = int64(buf.Len())
	return buf.Bytes(), e
}

// LegacyRows makes rows at offsets from, from+1, … for customer with the payloads, one
// second apart from 2024-01-01T00:00:00Z.
func LegacyRows(from int64, customer string, payloads ...string) []lakehouse.Row {
	out := make([]lakehouse.Row, len(payloads))
	for i, p := range payloads {
		out[i] = lakehouse.Row{Offset: from + int64(i), EventTime: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC), Customer: customer, Payload: p}
	}
	return out
}
