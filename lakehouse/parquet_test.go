package lakehouse_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// workloadRows makes n realistic rows of one partition at offsets start, start+1, ...
func workloadRows(seed uint64, n int, partition int32, start int64) []lakehouse.Row {
	g := workload.New(seed, workload.Config{Customers: 100})
	ingest := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rows := make([]lakehouse.Row, n)
	for i := range rows {
		ev := g.Next()
		rows[i] = lakehouse.Row{Partition: partition, Offset: start + int64(i), EventTime: ev.Time.UTC(),
			IngestTime: ingest, Customer: ev.Customer, Payload: string(ev.JSON)}
	}
	return rows
}

func TestEncodeRoundTripSortedWithStats(t *testing.T) {
	if lakehouse.UnderRace && testing.Short() {
		t.Skip("encoding on one goroutine, nothing for the race detector: the plain pass of make test runs it")
	}
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := workloadRows(1, 20000, 3, 1000)
	rows[17].Payload = "not utf-8: \xff\xfe" // archived with substitutes, never breaks the file
	// A value larger than a payload chunk, between chunks that are packed (compressed)
	// while the file waits: every payload must come back whole.
	rows[9000].Payload = `{"big":"` + strings.Repeat("x", 1536<<10) + `"}`
	data, entry, err := lakehouse.EncodeForTest(lakehouse.ArchiverConfig{Allocator: mem, RowGroupRows: 4096}, 3, 1000, rows)
	if err != nil {
		t.Fatal(err)
	}
	if entry.Rows != 20000 || entry.StartOffset != 1000 || entry.EndOffset != 20999 || entry.RowGroups != 5 {
		t.Errorf("entry = %+v", entry)
	}
	var raw int64
	minC, maxC := rows[0].Customer, rows[0].Customer
	for _, r := range rows {
		raw += int64(len(r.Payload))
		minC, maxC = min(minC, r.Customer), max(maxC, r.Customer)
	}
	if entry.MinCustomer != minC || entry.MaxCustomer != maxC {
		t.Errorf("customer range = [%s, %s], want [%s, %s]", entry.MinCustomer, entry.MaxCustomer, minC, maxC)
	}
	if entry.RawBytes < raw-10 || entry.RawBytes > raw+10 {
		t.Errorf("RawBytes = %d, want about %d", entry.RawBytes, raw)
	}

	// Parquet metadata: zstd everywhere, statistics on customer and offset per row group.
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	md := pr.MetaData()
	if md.NumRowGroups() != 5 {
		t.Fatalf("row groups = %d, want 5", md.NumRowGroups())
	}
	prevMax := ""
	for i := range md.NumRowGroups() {
		rg := md.RowGroup(i)
		for c := range rg.NumColumns() {
			cc, _ := rg.ColumnChunk(c)
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("row group %d column %d compression = %v, want zstd", i, c, cc.Compression())
			}
		}
		// Offsets and times delta-encoded; the partition, one value per file, without
		// a dictionary (arrow-go hashed it per row); min/max of customer, offset and
		// event_time, which readers prune by.
		for c, col := range []string{lakehouse.ColOffset, lakehouse.ColEventTime, lakehouse.ColIngestTime} {
			cc, _ := rg.ColumnChunk(c + 1)
			if !slices.Contains(cc.Encodings(), parquet.Encodings.DeltaBinaryPacked) {
				t.Errorf("row group %d: %s encodings %v, want DELTA_BINARY_PACKED", i, col, cc.Encodings())
			}
		}
		if cc, _ := rg.ColumnChunk(0); cc.HasDictionaryPage() {
			t.Errorf("row group %d: the partition column has a dictionary", i)
		}
		for c := range 3 {
			cc, _ := rg.ColumnChunk(c)
			if st, err := cc.Statistics(); err != nil || st == nil || !st.HasMinMax() {
				t.Errorf("row group %d: no statistics of column %d (%v)", i, c, err)
			}
		}
		cc, _ := rg.ColumnChunk(4)
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			t.Fatalf("row group %d: no customer statistics (%v)", i, err)
		}
		bs := st.(*metadata.ByteArrayStatistics)
		lo, hi := string(bs.Min()), string(bs.Max())
		if lo < prevMax {
			t.Errorf("row group %d customer min %s < previous max %s: rows not sorted by customer", i, lo, prevMax)
		}
		prevMax = hi
	}

	// Rows come back sorted by (customer, offset), every value intact.
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	entry.Path = "data/p=0003/h=2026-11-23T00/x.parquet"
	if err := lake.Bucket().Put(context.Background(), entry.Path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	var got []lakehouse.Row
	err = lake.ReadRecords(context.Background(), entry, mem, func(rec arrow.RecordBatch) error {
		got = append(got, recRows(rec)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got, func(a, b lakehouse.Row) int {
		if c := strings.Compare(a.Customer, b.Customer); c != 0 {
			return c
		}
		return int(a.Offset - b.Offset)
	}) {
		t.Error("rows are not sorted by customer, then offset")
	}
	byOff := map[int64]lakehouse.Row{}
	for _, r := range got {
		byOff[r.Offset] = r
	}
	if len(byOff) != len(rows) {
		t.Fatalf("read %d distinct offsets, wrote %d", len(byOff), len(rows))
	}
	for _, w := range rows {
		g := byOff[w.Offset]
		want := w.Payload
		if w.Offset == 1017 {
			want = "not utf-8: \uFFFD"
		}
		if g.Customer != w.Customer || g.Payload != want || !g.EventTime.Equal(w.EventTime) || !g.IngestTime.Equal(w.IngestTime) || g.Partition != 3 {
			t.Fatalf("offset %d: got %+v, want %+v", w.Offset, g, w)
		}
	}
}

func recRows(rec arrow.RecordBatch) []lakehouse.Row {
	rows, _ := lakehouse.RowsForTest(rec)
	return rows
}
