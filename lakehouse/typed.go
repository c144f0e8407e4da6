package lakehouse

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Typed columns hold, next to the raw payload, the value one JSONPath selects in each
// row, as our own evaluator reads it, so that history queries on that path read a
// number or a string instead of parsing the JSON text. A path gets three columns named
// from its canonical text (TypedColumnName): <name>_k, the kind of the value
// (TypedAbsent...TypedUntyped); <name>_n, the number (a float64, as the evaluator
// compares numbers), null unless the kind is TypedNumber; <name>_s, the decoded string,
// null unless the kind is TypedString.
const (
	TypedAbsent int8 = iota // the path selects nothing
	TypedNull
	TypedFalse
	TypedTrue
	TypedNumber
	TypedString
	TypedArray
	TypedObject
	// TypedUntyped marks a value the columns cannot hold exactly: a string with a NUL
	// (the evaluator decodes a lone surrogate escape to U+FFFD, which is kept) — DuckDB
	// would not keep its bytes — or longer than 16 MiB.
	// Readers take such a row's verdict from the payload.
	TypedUntyped
)

// Suffixes of a typed column's three Parquet columns.
const (
	typedKindSuffix = "_k"
	typedNumSuffix  = "_n"
	typedStrSuffix  = "_s"
)

// TypedColumn records in the manifest that a file carries the typed columns of Path.
type TypedColumn struct {
	// Path is the canonical text of a singular JSONPath (jsonpath.Path.String()).
	Path string `json:"path"`
	// Name is the prefix of its Parquet columns: Name+"_k", Name+"_n", Name+"_s".
	Name string `json:"name"`
	// Values counts the rows where the path selects something (kind not TypedAbsent).
	Values int64 `json:"values"`
	// Untyped counts the rows of kind TypedUntyped, whose value only the payload holds.
	Untyped int64 `json:"untyped,omitempty"`
}

// KindCol, NumCol and StrCol name the column's three Parquet columns.
func (c TypedColumn) KindCol() string { return c.Name + typedKindSuffix }
func (c TypedColumn) NumCol() string  { return c.Name + typedNumSuffix }
func (c TypedColumn) StrCol() string  { return c.Name + typedStrSuffix }

// TypedColumnName derives a column prefix from a path's canonical text: a hash, so that
// no text of a rule ever reaches SQL, and the same path has the same columns in every
// file.
func TypedColumnName(canonical string) string {
	h := fnv.New64a()
	h.Write([]byte(canonical))
	return fmt.Sprintf("j_%016x", h.Sum64())
}

// Column returns the typed column of path (canonical text) the file carries.
func (f *FileEntry) Column(path string) (TypedColumn, bool) {
	i := slices.IndexFunc(f.Columns, func(c TypedColumn) bool { return c.Path == path })
	if i < 0 {
		return TypedColumn{}, false
	}
	return f.Columns[i], true
}

// ErrTooManyColumns is returned by ColumnSet.Set when more paths are asked for than
// the set's limit; the first ones, up to the limit, are kept.
var ErrTooManyColumns = errors.New("lakehouse: more typed column paths than the limit")

// ColumnSet is the list of paths the archiver types, which the live stage changes as
// rules come and go. A file takes the list current when it opens; so a path added
// later shows up in files opened after it. Safe for concurrent use.
type ColumnSet struct {
	max  int
	cur  atomic.Pointer[typedPaths]
	over atomic.Int64
}

type typedPaths struct {
	paths []*jsonpath.Path
	cols  []TypedColumn // Path and Name of each path
}

// NewColumnSet returns an empty set that holds at most max paths (max <= 0: none).
func NewColumnSet(max int) *ColumnSet {
	s := &ColumnSet{max: max}
	s.cur.Store(&typedPaths{})
	return s
}

// Max is the set's limit.
func (s *ColumnSet) Max() int { return s.max }

// CheckColumnPath says why text cannot be a typed column's path: unparsable, or not
// singular (a nodelist has no single value to type). Set skips a path that is not
// singular, since the live stage hands it every rule's paths; a path asked for by name
// (--lake-columns) is checked here first, so that one typing nothing is refused.
func CheckColumnPath(text string) error {
	p, err := jsonpath.Parse(text)
	if err != nil {
		return fmt.Errorf("typed column path %q: %w", text, err)
	}
	if !p.Singular() {
		return fmt.Errorf("typed column path %q: not a singular path (names and indexes only): a typed column holds one value per event", text)
	}
	return nil
}

// Set replaces the list with the singular paths among texts (others are skipped: a
// nodelist has no single value to type), deduplicated by canonical form and sorted.
// Past the limit the rest are dropped and ErrTooManyColumns says how many; an
// unparsable text is an error naming it and changes nothing.
func (s *ColumnSet) Set(texts []string) error {
	seen := map[string]*jsonpath.Path{}
	for _, t := range texts {
		p, err := jsonpath.Parse(t)
		if err != nil {
			return fmt.Errorf("lakehouse: typed column path %q: %w", t, err)
		}
		if p.Singular() {
			seen[p.String()] = p
		}
	}
	canon := make([]string, 0, len(seen))
	for c := range seen {
		canon = append(canon, c)
	}
	slices.Sort(canon)
	var err error
	if limit := max(s.max, 0); len(canon) > limit {
		err = fmt.Errorf("%w: %d paths, limit %d (--lake-max-columns); %d not typed", ErrTooManyColumns, len(canon), limit, len(canon)-limit)
		s.over.Store(int64(len(canon) - limit))
		canon = canon[:limit]
	} else {
		s.over.Store(0)
	}
	tp := &typedPaths{}
	names := map[string]bool{}
	for _, c := range canon {
		name := TypedColumnName(c)
		if names[name] {
			continue // a 64-bit hash collision: the second path stays untyped
		}
		names[name] = true
		tp.paths = append(tp.paths, seen[c])
		tp.cols = append(tp.cols, TypedColumn{Path: c, Name: name})
	}
	s.cur.Store(tp)
	return err
}

// Paths returns the canonical texts of the paths typed now.
func (s *ColumnSet) Paths() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.cur.Load().cols {
		out = append(out, c.Path)
	}
	return out
}

// Over is how many asked-for paths the limit left untyped at the last Set.
func (s *ColumnSet) Over() int64 { return s.over.Load() }

func (s *ColumnSet) snapshot() *typedPaths {
	if s == nil {
		return nil
	}
	tp := s.cur.Load()
	if len(tp.paths) == 0 {
		return nil
	}
	return tp
}

// typedBatch accumulates the typed values of one file's rows, in arrival order.
type typedBatch struct {
	paths *typedPaths
	vals  [][]jsonpath.Value // per path: reused evaluation buffer
	cols  []typedValues
	// held is the memory the values take: per path and row a kind and a value
	// (typedRowBytes), and the strings' copies. Kept as rows are added, so that the
	// archiver's budget reads it without walking the columns (batch.heldBytes).
	held int64
}

type typedValues struct {
	// Rows' values sit in pooled chunks that are never copied as a file grows (as
	// payloads do, see chunkSize): kinds and vals hold typedChunkRows rows each.
	kinds [][]int8
	// vals holds per row the number's float64 bits, or the string's place in strs:
	// chunk<<44 | offset<<24 | length.
	vals    [][]uint64
	strs    [][]byte
	n       int
	values  int64
	untyped int64
}

// typedChunkRows is the rows of a chunk of typed values.
const typedChunkRows = 1 << 14

// maxTypedString is the longest string a typed column holds (24 bits of length);
// longer ones are TypedUntyped, read from the payload.
const maxTypedString = 1<<24 - 1

var (
	kindChunks = sync.Pool{New: func() any { return make([]int8, 0, typedChunkRows) }}
	valChunks  = sync.Pool{New: func() any { return make([]uint64, 0, typedChunkRows) }}
)

// push appends a row of kind k with value v.
func (c *typedValues) push(k int8, v uint64) {
	if c.n%typedChunkRows == 0 {
		c.kinds = append(c.kinds, kindChunks.Get().([]int8)[:0])
		c.vals = append(c.vals, valChunks.Get().([]uint64)[:0])
	}
	last := len(c.kinds) - 1
	c.kinds[last] = append(c.kinds[last], k)
	c.vals[last] = append(c.vals[last], v)
	c.n++
}

// putString stores a copy of s in c and returns its place, false when s is too long
// to hold.
func putString[S ~string | ~[]byte](c *typedValues, s S) (uint64, bool) {
	if len(s) > maxTypedString {
		return 0, false
	}
	if len(s) > chunkSize {
		c.strs = append(c.strs, append([]byte(nil), s...)) // a chunk of its own, not pooled
		return uint64(len(c.strs)-1)<<44 | uint64(len(s)), true
	}
	last := len(c.strs) - 1
	// A place's offset has 20 bits: one at a full chunk's end (an empty string after
	// strings that fill it to the byte) spilled into the chunk number, and encoding
	// the file panicked on a chunk past the last.
	if last < 0 || len(c.strs[last]) >= chunkSize || len(c.strs[last])+len(s) > chunkSize {
		c.strs = append(c.strs, getChunk())
		last++
	}
	off := len(c.strs[last])
	c.strs[last] = append(c.strs[last], s...)
	return uint64(last)<<44 | uint64(off)<<24 | uint64(len(s)), true
}

func (c *typedValues) kind(i int) int8  { return c.kinds[i/typedChunkRows][i%typedChunkRows] }
func (c *typedValues) val(i int) uint64 { return c.vals[i/typedChunkRows][i%typedChunkRows] }

// str returns row i's string.
func (c *typedValues) str(i int) []byte {
	v := c.val(i)
	chunk, off, n := v>>44, v>>24&(1<<20-1), v&(1<<24-1)
	return c.strs[chunk][off : off+n]
}

// release returns the chunks to their pools; c must not be used after.
func (c *typedValues) release() {
	for _, k := range c.kinds {
		kindChunks.Put(k[:0])
	}
	for _, v := range c.vals {
		valChunks.Put(v[:0])
	}
	for _, b := range c.strs {
		if cap(b) == chunkSize {
			putChunk(b)
		}
	}
	*c = typedValues{}
}

func newTypedBatch(tp *typedPaths) *typedBatch {
	if tp == nil {
		return nil
	}
	return &typedBatch{paths: tp, vals: make([][]jsonpath.Value, len(tp.paths)), cols: make([]typedValues, len(tp.paths))}
}

// add records the typed values of doc, the row just added.
func (t *typedBatch) add(doc *jsonpath.Document) {
	for i, p := range t.paths.paths {
		var kind int8
		var num float64
		var s string
		kind, num, s, t.vals[i] = typedValue(p, doc, t.vals[i][:0])
		t.held += putValue(&t.cols[i], kind, num, s)
	}
}

// addFed records the typed values the consumer read for record i of fed batch b (as
// add would from its parse); b must be typed as t (typedAs).
func (t *typedBatch) addFed(b *FedBatch, i int) {
	for j := range t.cols {
		kind, num, s := b.value(i, j)
		t.held += putValue(&t.cols[j], kind, num, s)
	}
}

// typedValue is what a typed column holds of p's value in doc: its kind, and its number
// or its decoded string (which aliases doc: valid until doc changes). buf is scratch
// for the evaluation, returned for reuse.
func typedValue(p *jsonpath.Path, doc *jsonpath.Document, buf []jsonpath.Value) (kind int8, num float64, s string, _ []jsonpath.Value) {
	buf = p.Eval(doc, buf)
	var v jsonpath.Value
	if len(buf) > 0 {
		v = buf[0]
	}
	switch kind = typedKind(v); kind {
	case TypedNumber:
		num = v.Num()
	case TypedString:
		// Decoded strings are UTF-8 (Reset checked the text; a lone surrogate escape
		// decodes to U+FFFD): only a NUL cannot be kept.
		if s = v.Str(); strings.IndexByte(s, 0) >= 0 {
			kind, s = TypedUntyped, ""
		}
	}
	return kind, num, s, buf
}

// putValue appends to c a row of kind with its number or string (copied); a string too
// long to hold makes the row TypedUntyped. It returns the bytes the row holds.
func putValue[S ~string | ~[]byte](c *typedValues, kind int8, num float64, s S) (held int64) {
	held = typedRowBytes
	var bits uint64
	switch kind {
	case TypedNumber:
		bits = math.Float64bits(num)
	case TypedString:
		var ok bool
		if bits, ok = putString(c, s); ok {
			held += int64(len(s))
		} else {
			kind = TypedUntyped
		}
	}
	if kind != TypedAbsent {
		c.values++
	}
	if kind == TypedUntyped {
		c.untyped++
	}
	c.push(kind, bits)
	return held
}

// addUntyped records a row whose payload is not a valid document (rows of unchecked
// files rewritten by compaction): the payload alone decides it.
func (t *typedBatch) addUntyped() {
	for i := range t.cols {
		c := &t.cols[i]
		c.push(TypedUntyped, 0)
		c.values++
		c.untyped++
	}
	t.held += int64(len(t.cols)) * typedRowBytes
}

// release returns the batch's chunks to their pools.
func (t *typedBatch) release() {
	if t == nil {
		return
	}
	for i := range t.cols {
		t.cols[i].release()
	}
}

func typedKind(v jsonpath.Value) int8 {
	switch v.Kind() {
	case jsonpath.KindNull:
		return TypedNull
	case jsonpath.KindBool:
		if v.Raw() == "true" {
			return TypedTrue
		}
		return TypedFalse
	case jsonpath.KindNumber:
		return TypedNumber
	case jsonpath.KindString:
		return TypedString
	case jsonpath.KindArray:
		return TypedArray
	case jsonpath.KindObject:
		return TypedObject
	}
	return TypedAbsent
}

// entries describes the columns for the manifest.
func (t *typedBatch) entries() []TypedColumn {
	out := slices.Clone(t.paths.cols)
	for i := range out {
		out[i].Values, out[i].Untyped = t.cols[i].values, t.cols[i].untyped
	}
	return out
}

// typedFields are the Arrow fields of a typed column.
func typedFields(c TypedColumn) []arrow.Field {
	return []arrow.Field{
		{Name: c.KindCol(), Type: arrow.PrimitiveTypes.Int8},
		{Name: c.NumCol(), Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: c.StrCol(), Type: arrow.BinaryTypes.String, Nullable: true},
	}
}

// arrays builds the column's three Arrow arrays in file order (order[j] is the row of
// arrival written j-th).
func (c *typedValues) arrays(mem memory.Allocator, order []int) []arrow.Array {
	kb := array.NewInt8Builder(mem)
	nb := array.NewFloat64Builder(mem)
	sb := array.NewStringBuilder(mem)
	defer kb.Release()
	defer nb.Release()
	defer sb.Release()
	kb.Reserve(len(order))
	nb.Reserve(len(order))
	sb.Reserve(len(order))
	for _, i := range order {
		k := c.kind(i)
		kb.UnsafeAppend(k)
		if k == TypedNumber {
			nb.UnsafeAppend(math.Float64frombits(c.val(i)))
		} else {
			nb.UnsafeAppendBoolToBitmap(false)
		}
		if k == TypedString {
			sb.BinaryBuilder.Append(c.str(i))
		} else {
			sb.AppendNull()
		}
	}
	return []arrow.Array{kb.NewArray(), nb.NewArray(), sb.NewArray()}
}

// retype returns the typed paths of a file that merges files: the paths they typed,
// at most limit of them (limit <= 0: none), and how many it left out. Past the limit
// it keeps first the paths in prefer (the archiver's current column set), then those
// that selected a value in the most rows; the rest are read from the payload, as the
// archiver's own paths past --lake-max-columns are (nil when none is typed).
func retype(files []FileEntry, limit int, prefer []string) (*typedPaths, int) {
	used := map[string]int64{} // path → rows where it selected something
	for _, f := range files {
		for _, c := range f.Columns {
			used[c.Path] += c.Values
		}
	}
	texts := slices.Collect(maps.Keys(used))
	if len(texts) == 0 {
		return nil, 0
	}
	left := 0
	if limit = max(limit, 0); len(texts) > limit {
		preferred := func(p string) bool { return slices.Contains(prefer, p) }
		slices.SortFunc(texts, func(a, b string) int {
			if pa, pb := preferred(a), preferred(b); pa != pb {
				if pa {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(used[b], used[a]), strings.Compare(a, b))
		})
		left = len(texts) - limit
		texts = texts[:limit]
	}
	if len(texts) == 0 {
		return nil, left
	}
	s := NewColumnSet(len(texts))
	if err := s.Set(texts); err != nil {
		return nil, left // a canonical path that no longer parses: the merged file stays untyped
	}
	return s.snapshot(), left
}
