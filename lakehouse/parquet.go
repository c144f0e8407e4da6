package lakehouse

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/klauspost/compress/s2"
)

// Column names of the archive's Parquet files, in schema order.
const (
	ColPartition  = "partition"
	ColOffset     = "offset"
	ColEventTime  = "event_time"
	ColIngestTime = "ingest_time"
	ColCustomer   = "customer"
	ColPayload    = "payload"
)

// Schema is the Arrow schema of every archive file. Timestamps are microseconds in UTC
// (Parquet TIMESTAMP(MICROS, adjusted to UTC); DuckDB reads them as TIMESTAMPTZ).
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: ColPartition, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColOffset, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColEventTime, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: ColIngestTime, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: ColCustomer, Type: arrow.BinaryTypes.String},
	{Name: ColPayload, Type: arrow.BinaryTypes.String},
}, nil)

// Row is one archived event.
type Row struct {
	Partition  int32
	Offset     int64
	EventTime  time.Time
	IngestTime time.Time
	Customer   string
	Payload    string
}

// batch accumulates the records of one partition bound for one file, in offset order.
// Payloads live in shared chunks so that a million events are not a million allocations.
type batch struct {
	partition int32
	start     int64 // first offset the file covers (watermark+1 when it was opened)
	// last is the last offset the file covers: its last row's, or that of a later record
	// refused by verdict.Accept, which has no row but whose offset the file accounts for.
	last   int64
	hour   time.Time // event-time hour of the first record: the file's directory
	hourUs int64     // hour in Unix microseconds, which the intake compares rows' times to
	opened time.Time // wall clock, for the age roll

	rowCols
	chunks [][]byte // payload bytes, in pooled fixed-size chunks: no regrowth copies
	// packed[i], when set, is chunk i compressed (s2), and chunks[i] is nil: a file's
	// raw JSON waits for its roll compressed, several times smaller (it was most of an
	// archiving daemon's heap); encoding unpacks one chunk at a time.
	packed [][]byte
	// slabs hold the packed chunks back to back (cache chunks, like the payloads):
	// packed[i] slices one of them.
	slabs [][]byte
	raw   int64
	rows  int

	invalidUTF8 int
	// deleted are offsets in the file's range that the broker deleted before the
	// archiver read them (FileEntry.Deleted).
	deleted []OffsetRange
	// checked is set when every row passed verdict.Accept (the archiver's files).
	checked bool
	// typed holds the rows' typed column values (nil: the file has none).
	typed *typedBatch
	// typedHeld is typed.held as of the last row added. heldBytes reads this copy, set
	// while the file is open under its writer's lock, not typed itself, which the flush
	// releases and clears off that lock once the file is encoded.
	typedHeld int64
	encoded   *pendingFile // set once encoded, kept until committed or dropped
}

func newBatch(partition int32, start int64, hour, now time.Time) *batch {
	b := &batch{partition: partition, start: start, last: start - 1, hour: hour, hourUs: hour.UnixMicro(), opened: now}
	if c, ok := rowColsPool.Get().(*rowCols); ok {
		b.rowCols = *c
	}
	return b
}

// rowCols are a batch's per-row slices. A released batch leaves them to the next one
// (rowColsPool), so that a file's rows do not grow them from nothing again: that
// growth, zeroing and copying fresh memory, was a twentieth of the archiver's CPU.
type rowCols struct {
	offsets  []int64
	eventUs  []int64
	ingestUs []int64
	customer []string // interned: equal customers share one string
	payloads []span   // where each payload is in chunks
}

var rowColsPool sync.Pool

// recycle hands the slices to rowColsPool, emptied (the customers cleared, so that the
// pool keeps no name alive).
func (c *rowCols) recycle() {
	if cap(c.offsets) == 0 {
		return
	}
	clear(c.customer)
	rowColsPool.Put(&rowCols{offsets: c.offsets[:0], eventUs: c.eventUs[:0], ingestUs: c.ingestUs[:0],
		customer: c.customer[:0], payloads: c.payloads[:0]})
	*c = rowCols{}
}

// len is the number of rows, after release too (a released file still counts as
// buffered until it is committed).
func (b *batch) len() int { return b.rows }

func (b *batch) rawBytes() int64 { return b.raw }

// heldBytes is what MaxBufferedBytes counts of a file in memory: its raw JSON, each
// row's offsets, times, customer and payload place (rowCols, 52 bytes), and its typed
// values (typedBatch.held). Counting the JSON alone, a file of small events held many
// times what it was counted as; without the typed values, 1 KB events typed under the
// default 32 paths held half as much again (TestBufferBudgetCountsTypedValues). A
// released file, encoded and waiting to be committed, counts as it did (like its JSON).
func (b *batch) heldBytes() int64 { return b.raw + int64(b.rows)*heldRowBytes + b.typedHeld }

// noteTyped takes the typed values' memory into heldBytes, after a row's are added.
func (b *batch) noteTyped() {
	if b.typed != nil {
		b.typedHeld = b.typed.held
	}
}

// heldRowBytes is a row's rowCols: three int64s, a string header and a span.
const heldRowBytes = 8 + 8 + 8 + 16 + 12

func (b *batch) end() int64 { return b.last }

// cover extends the file's range over offset, a record that gets no row.
func (b *batch) cover(offset int64) { b.last = max(b.last, offset) }

// add appends a row. checked says payload passed verdict.Accept, which validated its
// UTF-8 already (checking it again was a sixth of the archiver's intake of a record).
// The times are the columns' microseconds, within the years the lake holds
// (lakeMicros; the archiver counts the records it takes at the bounds, appendLocked).
func (b *batch) add(offset, eventUs, ingestUs int64, customer string, payload []byte, checked bool) {
	b.rows++
	b.offsets = append(b.offsets, offset)
	b.last = max(b.last, offset)
	b.eventUs = append(b.eventUs, eventUs)
	b.ingestUs = append(b.ingestUs, ingestUs)
	b.customer = append(b.customer, customer)
	// Parquet strings must be UTF-8 or DuckDB refuses the whole file. Such a value is
	// not JSON either (ingest dead-letters it); it is kept, with U+FFFD substitutes.
	if !checked && !utf8.Valid(payload) {
		b.invalidUTF8++
		payload = bytes.ToValidUTF8(payload, []byte("\uFFFD"))
	}
	b.raw += int64(len(payload))
	if len(payload) > chunkSize {
		// Rare giant value: a chunk of its own, not pooled.
		b.chunks = append(b.chunks, bytes.Clone(payload))
		b.payloads = append(b.payloads, span{chunk: uint32(len(b.chunks) - 1), n: uint32(len(payload))})
		return
	}
	last := len(b.chunks) - 1
	if last < 0 || b.chunks[last] == nil || len(b.chunks[last])+len(payload) > chunkSize {
		if last >= 0 && b.chunks[last] != nil && cap(b.chunks[last]) == chunkSize {
			b.pack(last)
		}
		b.chunks = append(b.chunks, getChunk())
		last++
	}
	c := b.chunks[last]
	b.payloads = append(b.payloads, span{chunk: uint32(last), off: uint32(len(c)), n: uint32(len(payload))})
	b.chunks[last] = append(c, payload...)
}

// addRow adds a row read back from a file (EncodeRows), typing it when the batch has
// typed columns (addRead).
func (b *batch) addRow(r Row, doc *jsonpath.Document) {
	b.addRead(r.Offset, r.EventTime, r.IngestTime, r.Customer, []byte(r.Payload), doc)
}

// addRead adds a row read back from a file (compaction, EncodeRows), typing it when
// the batch has typed columns: doc parses its payload (a row whose payload is not a
// document, which no checked file holds, is untyped: the payload decides it). payload
// is copied; customer is kept.
func (b *batch) addRead(offset int64, eventTime, ingestTime time.Time, customer string, payload []byte, doc *jsonpath.Document) {
	eventUs, _ := lakeMicros(eventTime)
	ingestUs, _ := lakeMicros(ingestTime)
	b.add(offset, eventUs, ingestUs, customer, payload, false)
	if b.typed == nil {
		return
	}
	if doc.Reset(payload) != nil {
		b.typed.addUntyped()
	} else {
		b.typed.add(doc)
	}
	b.noteTyped()
}

// pack compresses full chunk i and returns its memory to the pool.
func (b *batch) pack(i int) {
	for len(b.packed) < len(b.chunks) {
		b.packed = append(b.packed, nil)
	}
	c := b.chunks[i]
	scratch := packScratch(s2.MaxEncodedLen(len(c)))
	defer packBuf.Put(scratch)
	p := s2.Encode(*scratch, c)
	if len(p) >= len(c) {
		return // incompressible: it stays as it is
	}
	last := len(b.slabs) - 1
	if last < 0 || cap(b.slabs[last])-len(b.slabs[last]) < len(p) {
		b.slabs = append(b.slabs, getChunk())
		last++
	}
	s := b.slabs[last]
	b.slabs[last] = append(s, p...)
	b.packed[i] = b.slabs[last][len(s):len(b.slabs[last]):len(b.slabs[last])]
	b.chunks[i] = nil
	putChunk(c)
}

// packBuf is pack's scratch for the compressed bytes, which are copied to a slab: one
// per pack running, held until its bytes are copied (appenders pack at once).
var packBuf = sync.Pool{New: func() any { return new([]byte) }}

// packScratch takes a scratch of length n from packBuf; the caller puts it back.
func packScratch(n int) *[]byte {
	p := packBuf.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	*p = (*p)[:n]
	return p
}

// scatterPayloads copies each row i's payload to dst[dest[i]:]. Rows fill chunks in
// order, so it walks the chunks once, unpacking a packed one into one scratch chunk:
// a file's payloads are never all unpacked at once.
func (b *batch) scatterPayloads(dst []byte, dest []int32) error {
	scratch := getChunk()[:chunkSize]
	defer putChunk(scratch)
	var chunk []byte
	cur := -1
	for i, p := range b.payloads {
		if int(p.chunk) != cur {
			cur = int(p.chunk)
			chunk = b.chunks[cur]
			if cur < len(b.packed) && b.packed[cur] != nil {
				var err error
				if chunk, err = s2.Decode(scratch, b.packed[cur]); err != nil {
					return fmt.Errorf("unpacking payload chunk %d: %w", cur, err)
				}
			}
		}
		copy(dst[dest[i]:], chunk[p.off:p.off+p.n])
	}
	return nil
}

// release returns the batch's chunks to the pool; the batch must not be used after.
func (b *batch) release() {
	b.typed.release()
	b.typed = nil
	for _, c := range b.chunks {
		if cap(c) == chunkSize {
			putChunk(c)
		}
	}
	for _, s := range b.slabs {
		putChunk(s)
	}
	b.chunks, b.packed, b.slabs = nil, nil, nil
	b.rowCols.recycle()
}

type span struct{ chunk, off, n uint32 }

// chunkSize is the unit of payload memory. Reusing chunks spares the page faults and
// zeroing of fresh memory, which cost more than the copies themselves.
const chunkSize = 1 << 20

func getChunk() []byte { return buffers.get(chunkSize)[:0] }

func putChunk(c []byte) { buffers.put(c) }

// newColumnBuffer returns a buffer of size bytes, to be filled in place, its pages
// faulted in already where they are huge (populate): its first touch is copies and
// fills in assembly, which the Go scheduler cannot preempt, so faulting a file's
// columns in there held every goroutine at the collector's next stop-the-world until
// it was done. Only these buffers, sized exactly, are: the Parquet writer's own grow
// by doubling, and populating what they never fill only added to the resident set
// (`bench throughput`, 1 rule with the archive: 538–582 MiB against 511–525).
func newColumnBuffer(mem memory.Allocator, size int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(size)
	populate(buf.Bytes())
	return buf
}

// encodeOptions are the Parquet knobs of the archive.
type encodeOptions struct {
	mem              memory.Allocator
	rowGroupRows     int
	codec            compress.Compression
	compressionLevel int // zstd's
	// cachedOutput: the encoded file is in a cache buffer the caller puts back once it
	// has uploaded it (the archiver, afterCommit). Otherwise it is on the heap.
	cachedOutput bool
}

func (o encodeOptions) writerProps(typed []TypedColumn) *parquet.WriterProperties {
	props := []parquet.WriterProperty{
		parquet.WithAllocator(o.mem),
		parquet.WithCompression(o.codec),
		parquet.WithMaxRowGroupLength(int64(o.rowGroupRows)),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(ColCustomer, true),
		// The partition column is plain, not a dictionary: a file holds one partition,
		// which zstd takes down to nothing, and a dictionary hashed its one value per row.
		// Offsets and times climb within a customer's rows: their deltas take a few
		// bits each, which spares zstd most of their bytes (plain, these three columns
		// were most of what zstd spent over the JSON-lines baseline's).
		parquet.WithEncodingFor(ColOffset, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColEventTime, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColIngestTime, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithStats(true),
		// Min/max of whole JSON documents would bloat every footer and prune nothing.
		parquet.WithStatsFor(ColPayload, false),
		parquet.WithSortingColumns([]parquet.SortingColumn{{ColumnIdx: 4}, {ColumnIdx: 1}}),
		parquet.WithCreatedBy("hindsight lakehouse"),
	}
	if o.codec == compress.Codecs.Zstd {
		props = append(props, parquet.WithCompressionLevel(o.compressionLevel))
	}
	for _, c := range typed {
		// Typed strings repeat (levels, names, codes): a dictionary shrinks them and
		// lets DuckDB compare each distinct value once; kinds take a few bits each.
		props = append(props, parquet.WithDictionaryFor(c.StrCol(), true), parquet.WithDictionaryFor(c.KindCol(), true))
	}
	return parquet.NewWriterProperties(props...)
}

// sortOrder returns the row order of a file: by customer, then offset. Records arrive
// in offset order, so numbering the distinct customers, ranking them by name and
// placing each row after the rows of lower rank (a counting sort, stable) gives the
// order without comparing strings or sorting per row.
func (b *batch) sortOrder() []int {
	n := b.len()
	ids, names := b.customerIDs()
	byName := make([]uint32, len(names))
	for i := range byName {
		byName[i] = uint32(i)
	}
	slices.SortFunc(byName, func(x, y uint32) int { return strings.Compare(names[x], names[y]) })
	rank := make([]uint32, len(names)) // by id
	for r, id := range byName {
		rank[id] = uint32(r)
	}
	next := make([]int, len(names)+1) // by rank: where its next row goes, once summed
	for _, id := range ids {
		next[rank[id]+1]++
	}
	for r := 1; r < len(next); r++ {
		next[r] += next[r-1]
	}
	order := make([]int, n)
	for i, id := range ids {
		r := rank[id]
		order[next[r]] = i
		next[r]++
	}
	// Compaction adds each input's rows in its file order, by customer: a customer's
	// rows still arrive in offset order, unless an input was not sorted as its
	// writer declared. Then its rows are ordered by offset here.
	for j := 1; j < n; j++ {
		if ids[order[j-1]] == ids[order[j]] && b.offsets[order[j-1]] > b.offsets[order[j]] {
			slices.SortStableFunc(order, func(x, y int) int {
				return cmp.Or(cmp.Compare(rank[ids[x]], rank[ids[y]]), cmp.Compare(b.offsets[x], b.offsets[y]))
			})
			break
		}
	}
	return order
}

// customerIDs numbers the batch's distinct customers in the order they first come:
// ids[i] is row i's, names[id] the customer. Interned customers share their string,
// so a small cache keyed by the string's address and length answers most rows
// without hashing the name (the map, two lookups per row, was most of the sort's
// cost); equal names in different strings, or colliding in the cache, fall back to
// the map.
func (b *batch) customerIDs() (ids []uint32, names []string) {
	type slot struct {
		p  *byte
		n  int // the length + 1, so that the zero slot matches no string
		id uint32
	}
	var cache [64]slot
	idOf := make(map[string]uint32, 64)
	ids = make([]uint32, b.len())
	for i, c := range b.customer {
		p := unsafe.StringData(c)
		s := &cache[(uintptr(unsafe.Pointer(p))>>4^uintptr(len(c)))%uintptr(len(cache))]
		if s.p == p && s.n == len(c)+1 {
			ids[i] = s.id
			continue
		}
		id, ok := idOf[c]
		if !ok {
			id = uint32(len(names))
			idOf[c] = id
			names = append(names, c)
		}
		*s = slot{p: p, n: len(c) + 1, id: id}
		ids[i] = id
	}
	return ids, names
}

// distinctCustomers lists b's customers once each, given the file order (by
// customer), stopping past MaxFilteredCustomers.
func (b *batch) distinctCustomers(order []int) []string {
	var out []string
	for j, i := range order {
		if j == 0 || b.customer[i] != b.customer[order[j-1]] {
			if out = append(out, b.customer[i]); len(out) > MaxFilteredCustomers {
				return out
			}
		}
	}
	return out
}

// EncodeRows encodes rows of one partition (in offset order, starting at offset
// start) as one archive file, typing columns (nil: none), as the archiver and
// compaction write them, and returns the file's bytes and manifest entry (Path and
// Created unset). checked says every row passed the acceptance check
// (internal/verdict.Accept); a row whose payload is not one JSON document gets no
// typed values. For tools and tests that write archive files outside the archiver.
func EncodeRows(partition int32, start int64, rows []Row, columns *ColumnSet, checked bool) ([]byte, FileEntry, error) {
	var d ArchiverConfig
	d.EnsureDefaults()
	return encodeRows(partition, start, rows, columns, checked, d.encodeOptions())
}

func encodeRows(partition int32, start int64, rows []Row, columns *ColumnSet, checked bool, opts encodeOptions) ([]byte, FileEntry, error) {
	if len(rows) == 0 {
		return nil, FileEntry{}, errors.New("lakehouse: encode: no rows")
	}
	first, _ := lakeTime(rows[0].EventTime)
	b := newBatch(partition, start, hourOf(first), time.Now())
	defer b.release()
	b.checked = checked
	b.typed = newTypedBatch(columns.snapshot())
	doc := jsonpath.NewDocument()
	for _, r := range rows {
		b.addRow(r, doc)
	}
	return encodeBatch(b, opts)
}

// encode writes b as one Parquet file and describes it. The entry's Path and Bytes are
// filled by the caller.
func encodeBatch(b *batch, opts encodeOptions) ([]byte, FileEntry, error) {
	n := b.len()
	if n == 0 {
		return nil, FileEntry{}, errors.New("encode: empty batch")
	}
	order := b.sortOrder()
	mem := opts.mem

	e := FileEntry{
		Partition: b.partition, StartOffset: b.start, EndOffset: b.end(),
		MinOffset: slices.Min(b.offsets), MaxOffset: slices.Max(b.offsets), Rows: int64(n), RawBytes: b.rawBytes(),
		Checked: b.checked, Deleted: b.deleted,
	}
	custBytes := 0
	for _, c := range b.customer {
		custBytes += len(c)
	}
	// Columns are filled in place in allocator buffers: builders would zero, grow and
	// copy them again, which costs as much as the copy itself.
	var bufs []*memory.Buffer
	newBuf := func(size int) *memory.Buffer {
		buf := newColumnBuffer(mem, size)
		bufs = append(bufs, buf)
		return buf
	}
	defer func() {
		for _, buf := range bufs {
			buf.Release()
		}
	}()
	partBuf, offBuf, evBuf, inBuf := newBuf(4*n), newBuf(8*n), newBuf(8*n), newBuf(8*n)
	custOffBuf, custBuf, payOffBuf, payBuf := newBuf(4*(n+1)), newBuf(custBytes), newBuf(4*(n+1)), newBuf(int(b.raw))
	parts := arrow.Int32Traits.CastFromBytes(partBuf.Bytes())
	offs := arrow.Int64Traits.CastFromBytes(offBuf.Bytes())
	evs := arrow.Int64Traits.CastFromBytes(evBuf.Bytes())
	ins := arrow.Int64Traits.CastFromBytes(inBuf.Bytes())
	custOffs := arrow.Int32Traits.CastFromBytes(custOffBuf.Bytes())
	payOffs := arrow.Int32Traits.CastFromBytes(payOffBuf.Bytes())
	custData, payData := custBuf.Bytes(), payBuf.Bytes()
	minUs, maxUs, maxInUs := b.eventUs[0], b.eventUs[0], b.ingestUs[0]
	cpos, ppos := 0, 0
	// dest[i] is where row i's payload goes in the file's order.
	dest := make([]int32, n)
	for j, i := range order {
		parts[j] = b.partition
		offs[j] = b.offsets[i]
		evs[j] = b.eventUs[i]
		ins[j] = b.ingestUs[i]
		custOffs[j] = int32(cpos)
		cpos += copy(custData[cpos:], b.customer[i])
		payOffs[j], dest[i] = int32(ppos), int32(ppos)
		ppos += int(b.payloads[i].n)
		minUs = min(minUs, b.eventUs[i])
		maxUs = max(maxUs, b.eventUs[i])
		maxInUs = max(maxInUs, b.ingestUs[i])
	}
	custOffs[n], payOffs[n] = int32(cpos), int32(ppos)
	if err := b.scatterPayloads(payData, dest); err != nil {
		return nil, FileEntry{}, fmt.Errorf("encode partition %d: %w", b.partition, err)
	}
	e.MinTime = time.UnixMicro(minUs).UTC()
	e.MaxTime = time.UnixMicro(maxUs).UTC()
	e.MaxIngestTime = time.UnixMicro(maxInUs).UTC()
	e.MinCustomer = b.customer[order[0]]
	e.MaxCustomer = b.customer[order[n-1]]
	e.CustomerFilter = newCustomerFilter(b.distinctCustomers(order))

	colBufs := [][]*memory.Buffer{{nil, partBuf}, {nil, offBuf}, {nil, evBuf}, {nil, inBuf},
		{nil, custOffBuf, custBuf}, {nil, payOffBuf, payBuf}}
	cols := make([]arrow.Array, len(colBufs))
	for i, cb := range colBufs {
		data := array.NewData(Schema.Field(i).Type, n, cb, nil, 0, 0)
		cols[i] = array.MakeFromData(data)
		data.Release()
	}
	schema := Schema
	if b.typed != nil {
		fields := Schema.Fields()
		for i, c := range b.typed.entries() {
			fields = append(fields, typedFields(c)...)
			cols = append(cols, b.typed.cols[i].arrays(mem, order)...)
		}
		schema = arrow.NewSchema(fields, nil)
		e.Columns = b.typed.entries()
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()

	out := buffers.get(int(b.raw/5) + 64<<10)
	buf := bytes.NewBuffer(out[:0])
	data, err := writeParquet(buf, schema, rec, opts, e.Columns)
	switch {
	case err != nil:
		buffers.put(out)
		return nil, FileEntry{}, fmt.Errorf("encode partition %d: %w", b.partition, err)
	case base(data) != base(out):
		buffers.put(out) // the file outgrew it: data is on the heap
	case !opts.cachedOutput:
		data = bytes.Clone(data)
		buffers.put(out)
	}
	e.RowGroups = (n + opts.rowGroupRows - 1) / opts.rowGroupRows
	e.Bytes = int64(len(data))
	return data, e, nil
}

func writeParquet(buf *bytes.Buffer, schema *arrow.Schema, rec arrow.RecordBatch, opts encodeOptions, typed []TypedColumn) ([]byte, error) {
	fw, err := pqarrow.NewFileWriter(schema, buf, opts.writerProps(typed),
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(opts.mem), pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkSchema tells an archive file from a foreign Parquet file: Schema's columns
// first, then typed columns only.
func checkSchema(s *arrow.Schema) error {
	if len(s.Fields()) < len(Schema.Fields()) {
		return fmt.Errorf("%w: %d columns, want at least %d", ErrCorrupt, len(s.Fields()), len(Schema.Fields()))
	}
	for i, f := range Schema.Fields() {
		g := s.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("%w: column %d is %s %s, want %s %s", ErrCorrupt, i, g.Name, g.Type, f.Name, f.Type)
		}
	}
	for _, g := range s.Fields()[len(Schema.Fields()):] {
		if !strings.HasPrefix(g.Name, "j_") {
			return fmt.Errorf("%w: column %s is not a typed column", ErrCorrupt, g.Name)
		}
	}
	return nil
}

// tinyToHeap leaves buffers of up to 64 bytes to the garbage collector and takes the
// rest from mem. arrow-go's DELTA_BINARY_PACKED decoder (v18.8.0) never frees its
// buffer of a block's miniblock widths, 64 bytes, so that on a checked allocator every
// read of a file leaked it; the archive's own pool leaves such buffers to the
// collector already (cacheMinClass).
type tinyToHeap struct{ mem memory.Allocator }

const tinyBuffer = 64

func (a tinyToHeap) Allocate(size int) []byte {
	if size <= tinyBuffer {
		return alignedMake(size, tinyBuffer)
	}
	return a.mem.Allocate(size)
}

func (a tinyToHeap) Reallocate(size int, b []byte) []byte {
	switch {
	case cap(b) > tinyBuffer:
		return a.mem.Reallocate(size, b)
	case size <= cap(b):
		return b[:size]
	}
	nb := a.Allocate(size) // by size: a buffer from mem is always over tinyBuffer
	copy(nb, b)
	return nb
}

func (a tinyToHeap) Free(b []byte) {
	if cap(b) > tinyBuffer {
		a.mem.Free(b)
	}
}

// readParquet decodes an archive file from data, calling fn with each record batch
// (valid only during the call). A file that is not an archive file gives ErrCorrupt.
func readParquet(ctx context.Context, data []byte, mem memory.Allocator, fn func(arrow.RecordBatch) error) (err error) {
	defer func() {
		// arrow-go panics on some malformed inputs; a bad object must not crash us.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parquet decoder panicked: %v", ErrCorrupt, r)
		}
	}()
	mem = tinyToHeap{mem}
	pr, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	s, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkSchema(s); err != nil {
		return err
	}
	// Rows are Schema's columns; typed columns are for SQL readers.
	rr, err := fr.GetRecordReader(ctx, []int{0, 1, 2, 3, 4, 5}, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	defer rr.Release()
	for {
		rec, err := rr.Read()
		if rec != nil {
			if ferr := fn(rec); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if rec == nil {
			return nil
		}
	}
}

// rowsOf appends the rows of rec to out.
func rowsOf(rec arrow.RecordBatch, out []Row) []Row {
	part := rec.Column(0).(*array.Int32)
	off := rec.Column(1).(*array.Int64)
	ev := rec.Column(2).(*array.Timestamp)
	in := rec.Column(3).(*array.Timestamp)
	cust := rec.Column(4).(*array.String)
	pay := rec.Column(5).(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		out = append(out, Row{
			Partition:  part.Value(i),
			Offset:     off.Value(i),
			EventTime:  time.UnixMicro(int64(ev.Value(i))).UTC(),
			IngestTime: time.UnixMicro(int64(in.Value(i))).UTC(),
			// Value aliases Arrow's buffer, which dies with rec.
			Customer: strings.Clone(cust.Value(i)),
			Payload:  strings.Clone(pay.Value(i)),
		})
	}
	return out
}
