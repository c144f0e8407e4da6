package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// WriteLegacyLake writes a lake as an archiver before the acceptance check left it:
// per partition, files of rows (customers and payloads kept byte for byte, whatever
// they hold) that cover contiguous offsets from 0, and manifest version 1 listing them,
// not marked checked. It returns the manifest's files.
func WriteLegacyLake(tb testing.TB, bkt lakehouse.Bucket, files map[int32][][]lakehouse.Row) []lakehouse.FileEntry {
	tb.Helper()
	ctx := context.Background()
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "legacy"}
	for p := int32(0); int(p) < len(files)+100 && len(m.Partitions) < len(files); p++ {
		fs, ok := files[p]
		if !ok {
			continue
		}
		next := int64(0)
		for i, rows := range fs {
			e := legacyFile(tb, p, rows)
			e.StartOffset = next
			e.Path = fmt.Sprintf("data/p=%04d/h=2024-01-01T00/%020d-%020d-%08x.parquet", p, e.StartOffset, e.EndOffset, i)
			next = e.EndOffset + 1
			data := e.data
			e.data = nil
			if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
				tb.Fatal(err)
			}
			m.Files = append(m.Files, e.FileEntry)
		}
		m.Partitions = append(m.Partitions, lakehouse.PartitionState{Partition: p, Watermark: next - 1, Earliest: 0, EarliestTime: m.Files[0].MinTime})
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

type legacyEntry struct {
	lakehouse.FileEntry
	data []byte
}

// legacyFile encodes rows (in offset order) with the lake's schema.
func legacyFile(tb testing.TB, p int32, rows []lakehouse.Row) legacyEntry {
	tb.Helper()
	mem := memory.DefaultAllocator
	bld := array.NewRecordBuilder(mem, lakehouse.Schema)
	defer bld.Release()
	e := legacyEntry{FileEntry: lakehouse.FileEntry{Partition: p, MinOffset: rows[0].Offset, MaxOffset: rows[len(rows)-1].Offset,
		EndOffset: rows[len(rows)-1].Offset, Rows: int64(len(rows)), RowGroups: 1, Created: time.Now().UTC(),
		MinTime: rows[0].EventTime, MaxTime: rows[0].EventTime, MinCustomer: rows[0].Customer, MaxCustomer: rows[0].Customer}}
	for _, r := range rows {
		bld.Field(0).(*array.Int32Builder).Append(p)
		bld.Field(1).(*array.Int64Builder).Append(r.Offset)
		bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.EventTime.UnixMicro()))
		// BinaryBuilder under the string type: bytes as given, not validated.
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
	e.data = buf.Bytes()
	e.Bytes = int64(buf.Len())
	return e
}

// LegacyRows makes rows at offsets from, from+1, … for customer with the payloads.
func LegacyRows(from int64, customer string, payloads ...string) []lakehouse.Row {
	out := make([]lakehouse.Row, len(payloads))
	for i, p := range payloads {
		out[i] = lakehouse.Row{Offset: from + int64(i), EventTime: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC), Customer: customer, Payload: p}
	}
	return out
}

// TestUnreadableFileIsNamed: a lake file DuckDB refuses (an older archiver wrote a key
// that is not UTF-8 into its customer column) fails the job with ErrUnreadableFile and
// the file's name, so the error can be acted on — not a query error over a batch of
// files that names none of them.
func TestUnreadableFileIsNamed(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	files := WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		LegacyRows(0, "c-1", `{"a":"admin"}`, `{"a":"user"}`),
		append(LegacyRows(2, "c-1", `{"a":"admin"}`), LegacyRows(3, "c-\xff", `{"a":"admin"}`)...),
		LegacyRows(4, "c-2", `{"a":"admin"}`),
	}})
	lake := lakehouse.NewLake(bkt, nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r := VerdictRules(t)[0]
	_, err = runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: 5}})
	if !errors.Is(err, ErrUnreadableFile) {
		t.Fatalf("error %v, want ErrUnreadableFile", err)
	}
	if !strings.Contains(err.Error(), files[1].Path) || strings.Contains(err.Error(), files[0].Path) || strings.Contains(err.Error(), files[2].Path) {
		t.Errorf("error %q does not name exactly the unreadable file %s", err, files[1].Path)
	}
}

// TestLegacyFilesCountAsLive: files written before the archiver applied the acceptance
// check hold what live dead-lettered (NaN, trailing commas, nesting past the limit,
// U+FFFD where bytes were not UTF-8...); their rows go to the Go evaluator, which
// validates as live does, so they count as live counted.
func TestLegacyFilesCountAsLive(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	payloads := OddPayloads(rand.New(rand.NewPCG(5, 5)), 600)
	for i, p := range payloads {
		payloads[i] = strings.ToValidUTF8(p, "\uFFFD") // what the older archiver stored
	}
	WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {LegacyRows(0, "c-1", payloads[:300]...), LegacyRows(300, "c-2", payloads[300:]...)}})
	lake := lakehouse.NewLake(bkt, nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	doc := jsonpath.NewDocument()
	var total int64
	for i, r := range VerdictRules(t) {
		res, err := runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: int64(len(payloads))}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for j, p := range payloads {
			c := []string{"c-1", "c-2"}[j/300]
			if goVerdict(doc, c, []byte(p), r) {
				want[c]++
			}
		}
		if !maps.Equal(res.Counts, want) {
			t.Errorf("rule %s: counts %v, live's verdict %v", VerdictConditions[i], res.Counts, want)
		}
		for _, n := range want {
			total += n
		}
	}
	if total < 200 {
		t.Fatalf("only %d matches over all rules: the test shows too little", total)
	}
}
