package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestQueryFailingOverFilesTogetherBlamesNoFile: a chunk's query fails only because of
// how its files combine, not because DuckDB cannot read any one of them. Here the first
// file stores offsets as INT32 (the largest one still fits) and the next as INT64 past
// 2^31: DuckDB reads the files under the first one's schema and cannot cast the second
// one's offsets, while each file alone is read whole. unreadableFile then finds no file
// at fault and the job fails with the query's own error; reported as the first file
// instead (index 0), that file was fetched again for nothing and the job failed with
// ErrUnreadableFile telling the operator that an intact lake object is unreadable.
func TestQueryFailingOverFilesTogetherBlamesNoFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	const last32 = 1<<31 - 1
	rows0 := lakehousetest.LegacyRows(last32-1, "c-1", `{"a":"admin"}`, `{"a":"admin"}`)
	rows1 := lakehousetest.LegacyRows(last32+1, "c-2", `{"a":"admin"}`, `{"a":"admin"}`)
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		rows0,
		rows1,
	}})
	narrow := int32OffsetsFile(t, 0, rows0)
	if err := bkt.Put(ctx, files[0].Path, bytes.NewReader(narrow)); err != nil {
		t.Fatal(err)
	}
	const manifest = "manifest/v000000000001.json"
	rc, err := bkt.Get(ctx, manifest)
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var m lakehouse.Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m.Files[0].Bytes = int64(len(narrow))
	if js, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, manifest, bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}

	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	count := func(bkt lakehouse.Bucket, start int64) (map[string]int64, error) {
		runner, err := NewRunner(Config{Lake: lakehouse.NewLake(bkt, nil), CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer runner.Close()
		res, err := runner.Run(ctx, Job{Rule: r, Start: map[int32]int64{0: start}})
		if err != nil {
			return nil, err
		}
		return res.Counts, nil
	}
	// Each file alone is read whole: the first one by a job ending where it does, the
	// second one in a lake of its own.
	if got, err := count(bkt, files[0].EndOffset+1); err != nil || !maps.Equal(got, map[string]int64{"c-1": 2}) {
		t.Fatalf("the job over %s alone: %v, %v; want c-1 counted twice", files[0].Path, got, err)
	}
	alone := lakehouse.NewMemBucket()
	lakehousetest.WriteLegacyLake(t, alone, map[int32][][]lakehouse.Row{0: {rows1}})
	if got, err := count(alone, files[1].EndOffset+1); err != nil || !maps.Equal(got, map[string]int64{"c-2": 2}) {
		t.Fatalf("the job over the second file's rows alone: %v, %v; want c-2 counted twice", got, err)
	}

	_, err = count(bkt, files[1].EndOffset+1)
	if err == nil {
		t.Fatal("the job over both files succeeded; the test needs a query that fails over them together")
	}
	if errors.Is(err, ErrUnreadableFile) || errors.Is(err, ErrCacheNotKept) {
		t.Fatalf("a query failing only over the files together: %v; want its own error, no file blamed", err)
	}
	for _, f := range files {
		if strings.Contains(err.Error(), f.Path) {
			t.Errorf("error %q names %s, which DuckDB reads alone", err, f.Path)
		}
	}
}

// int32OffsetsFile is lakehousetest.LegacyFile's bytes for rows of partition p, but with
// the offset column written as INT32.
func int32OffsetsFile(t *testing.T, p int32, rows []lakehouse.Row) []byte {
	t.Helper()
	fields := append([]arrow.Field(nil), lakehouse.Schema.Fields()...)
	fields[1].Type = arrow.PrimitiveTypes.Int32
	schema := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	for _, r := range rows {
		bld.Field(0).(*array.Int32Builder).Append(p)
		bld.Field(1).(*array.Int32Builder).Append(int32(r.Offset))
		bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		bld.Field(4).(*array.StringBuilder).Append(r.Customer)
		bld.Field(5).(*array.StringBuilder).Append(r.Payload)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
