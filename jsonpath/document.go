package jsonpath

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	sutf8 "github.com/bytedance/sonic/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Reset accepts. It bounds
// the recursion of every consumer of a document (deep equality, decoding) on hostile
// input; real audit events nest a handful of levels.
const MaxDepth = 1000

// Whitespace is JSON's whitespace (RFC 8259 ws): the only bytes Reset skips around and
// between tokens. A line reader that trims more (Unicode spaces) would accept text
// Reset refuses.
const Whitespace = " \t\r\n"

// MaxDocumentSize is the largest document Reset accepts: offsets in the index are
// 32-bit to keep it compact.
const MaxDocumentSize = math.MaxInt32 - 1

var (
	// ErrInvalidJSON is wrapped by every error Reset returns for bytes that are not
	// one well-formed JSON value in UTF-8.
	ErrInvalidJSON = errors.New("jsonpath: invalid JSON")
	// ErrTooDeep is wrapped by the error Reset returns for a document nested deeper
	// than MaxDepth. Such a document is also reported as ErrInvalidJSON, because the
	// engine refuses it just the same.
	ErrTooDeep = errors.New("jsonpath: JSON nested too deeply")
)

// errTooDeepMsg names the limit and its value, because the message travels far from
// this package: it is the error header of a dead-lettered event, read by whoever
// wonders why it was refused.
var errTooDeepMsg = fmt.Sprintf("nesting deeper than %d levels (limit jsonpath.MaxDepth)", MaxDepth)

// JSONError locates the first problem in a document handed to Reset.
type JSONError struct {
	Offset  int // 0-based byte offset of the offending byte (len(data) for a premature end)
	Msg     string
	tooDeep bool
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("jsonpath: invalid JSON at byte offset %d: %s", e.Offset, e.Msg)
}

// Is lets callers branch with errors.Is(err, ErrInvalidJSON) or ErrTooDeep.
func (e *JSONError) Is(target error) bool {
	return target == ErrInvalidJSON || (e.tooDeep && target == ErrTooDeep)
}

// node is one entry of the structural index built by Reset: a value (or an object
// key) as a byte range plus the tape position just past its subtree, so that
// siblings are found without rescanning bytes.
type node struct {
	start, end int32 // byte range of the value's JSON text
	next       int32 // tape index just past this value's subtree
	n          int32 // containers: element/member count; strings and keys: 1 if escaped
	kind       Kind
}

type rootKey struct {
	fp  int32 // keyFP of the name (escapedFP if escaped)
	key int32 // tape index of the name
}

// kindKey marks an object member name in the tape; it never escapes the package.
const kindKey Kind = 7

// Document is one JSON document opened over raw bytes. It keeps its buffers across
// Reset calls, so one Document per goroutine evaluates a stream without allocating.
// A Document is not safe for concurrent use; Paths are.
type Document struct {
	data  string // aliases the bytes given to Reset
	buf   []byte
	nodes []node
	stack []frame
	ok    bool
	gen   uint32

	// rootKeys lists the root object's members densely: every path starts with a
	// lookup there, and scanning this array avoids chasing next links across the tape.
	rootKeys []rootKey

	bufs    [][]int32 // free list of node-list buffers for Eval
	scratch []byte
	budget  int  // remaining node visits for the current Eval
	limited bool // the last Eval ran out of budget
	// exceeded counts the Evals since Reset that ran out of budget (BudgetExceeded).
	exceeded int
	memo     [memoSize]memoEntry
	// abs holds the absolute singular queries ($.limit) resolved in filters since
	// Reset: constant over a document, they are resolved once, not once per element
	// a filter tests (a root of many members times many elements was work no budget
	// counted).
	abs map[*Path]int32
}

// NewDocument returns an empty Document; Eval on it selects nothing until Reset.
func NewDocument() *Document { return &Document{} }

// Reset opens data as the current document. It validates the whole document (JSON
// grammar, UTF-8, nesting depth) and builds a structural index of byte offsets; no
// string or number is decoded. Values selected later alias data, so data must not be
// modified while they are in use. On error the Document holds no document.
func (d *Document) Reset(data []byte) error {
	d.gen++
	if d.gen == 0 {
		// Generation stamps wrap after 2^32 documents: forget every memo entry rather
		// than risk a stale hit.
		d.memo = [memoSize]memoEntry{}
		d.gen = 1
	}
	d.ok = false
	d.data = ""
	d.buf = nil
	d.nodes = d.nodes[:0]
	d.exceeded = 0
	clear(d.abs)
	if len(data) > MaxDocumentSize {
		return &JSONError{Offset: MaxDocumentSize, Msg: "document too large"}
	}
	// Grammar first: a document of ASCII bytes alone, most events, needs no UTF-8
	// check. Invalid UTF-8 is still the error reported before any grammar error.
	ascii, err := d.scan(data)
	if (err != nil || !ascii) && !sutf8.Validate(data) {
		err = &JSONError{Offset: firstInvalidUTF8(data), Msg: "invalid UTF-8"}
	}
	if err != nil {
		d.nodes = d.nodes[:0]
		return err
	}
	d.buf = data
	d.data = unsafe.String(unsafe.SliceData(data), len(data))
	d.ok = true
	return nil
}

// Release closes the current document: the Document no longer references its bytes,
// nor keeps an index grown past what ordinary documents need. A Document kept for
// long, one per partition or pooled, must pin neither the fetch its last document
// came in nor the index of the largest document it ever read (about 20 bytes a JSON
// value: a 1 MB array of small numbers leaves 10 MB). Its next Reset grows them again.
func (d *Document) Release() {
	d.ok = false
	d.data = ""
	d.buf = nil
	if cap(d.nodes) > keptNodes {
		d.nodes, d.bufs = nil, nil
	} else {
		d.nodes = d.nodes[:0]
	}
	if cap(d.rootKeys) > keptNodes {
		d.rootKeys = nil
	} else {
		d.rootKeys = d.rootKeys[:0]
	}
	if cap(d.scratch) > keptNodes {
		d.scratch = nil
	}
	clear(d.abs)
}

// keptNodes is the capacity of index (and scratch) a Document keeps across Release:
// an event of some kilobytes has a few hundred values, so ordinary streams reuse
// their buffers, while one large document's are dropped.
const keptNodes = 1 << 12

// Raw returns the current document's text ("" when none is loaded).
func (d *Document) Raw() string { return d.data }

// Root returns the document's root value (the zero Value when none is loaded).
func (d *Document) Root() Value {
	if !d.ok {
		return Value{}
	}
	return d.value(0)
}

// Limited reports whether the last Eval on d stopped early because it exhausted its
// work budget (see Path.EvalChecked).
func (d *Document) Limited() bool { return d.limited }

// BudgetExceeded is the number of Evals on the current document (since Reset) that
// stopped early, their results truncated, because they exhausted their work budget: a
// caller that evaluates many paths (a rule set) tells so that a verdict cut short is
// seen, not taken for a plain "no".
func (d *Document) BudgetExceeded() int { return d.exceeded }

// value wraps tape entry i as a Value.
func (d *Document) value(i int32) Value {
	nd := &d.nodes[i]
	return Value{raw: d.data[nd.start:nd.end], kind: nd.kind, esc: nd.n != 0 && nd.kind == KindString}
}

func (d *Document) getBuf() []int32 {
	if n := len(d.bufs); n > 0 {
		b := d.bufs[n-1]
		d.bufs = d.bufs[:n-1]
		return b[:0]
	}
	return make([]int32, 0, 16)
}

func (d *Document) putBuf(b []int32) {
	if cap(b) > 1<<16 {
		return // don't pin the memory of one huge result
	}
	d.bufs = append(d.bufs, b[:0])
}
