package jsonpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"

	sutf8 "github.com/bytedance/sonic/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Reset accepts. It bounds
// the recursion of every consumer of a document (deep equality, decoding) on hostile
// input; real audit events nest a handful of levels.
const MaxDepth = 1000

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

const (
	memoBits = 9
	memoSize = 1 << memoBits
	// memoMinMembers is the member count above which lookups are memoized.
	memoMinMembers = 8
)

// memoEntry remembers one (parent, member name) lookup for the current document so
// that paths sharing a prefix ($.actor.geo.country, $.actor.geo.city) resolve the
// prefix once per event.
type memoEntry struct {
	gen    uint32
	parent int32
	name   uint32
	child  int32
}

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
	memo    [memoSize]memoEntry
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
	if len(data) > MaxDocumentSize {
		return &JSONError{Offset: MaxDocumentSize, Msg: "document too large"}
	}
	if !sutf8.Validate(data) {
		return &JSONError{Offset: firstInvalidUTF8(data), Msg: "invalid UTF-8"}
	}
	if err := d.scan(data); err != nil {
		d.nodes = d.nodes[:0]
		return err
	}
	d.buf = data
	d.data = unsafe.String(unsafe.SliceData(data), len(data))
	d.ok = true
	return nil
}

// release drops the reference to the current bytes (pooled scratch Documents
// must not pin the values they last compared).
func (d *Document) release() {
	d.ok = false
	d.data = ""
	d.buf = nil
	d.nodes = d.nodes[:0]
	d.rootKeys = d.rootKeys[:0]
}

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

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
	}
	return i
}

func describe(b []byte, i int) string {
	if i >= len(b) {
		return "unexpected end of input"
	}
	c := b[i]
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("unexpected byte 0x%02x", c)
	}
	return fmt.Sprintf("unexpected %q", rune(c))
}

func jsonErr(b []byte, i int, want string) error {
	msg := describe(b, i)
	if want != "" {
		msg += ", expected " + want
	}
	return &JSONError{Offset: i, Msg: msg}
}

// frame is an open container during scan. Counting children here rather than in
// the tape keeps the hot loop's writes to one new tape entry per value.
type frame struct {
	idx     int32 // tape index of the container
	count   int32 // children so far
	lastKey int32 // objects: tape index of the latest member name
	obj     bool
}

// keyFP is the fingerprint a member name gets in the tape (node.n of a key): the
// length and first and last bytes, so a lookup rejects almost every other member
// with one comparison. Escaped names get escapedFP and are compared decoded.
func keyFP(name string) int32 {
	if len(name) == 0 {
		return 0
	}
	return int32(min(len(name), 0x7fff))<<16 | int32(name[0])<<8 | int32(name[len(name)-1])
}

const escapedFP = -1

// scan validates b and fills d.nodes. It is iterative, so depth costs heap (bounded
// by MaxDepth), never goroutine stack. The tape is written by index into spare
// capacity, grown in a rare slow path, to keep append's growth check and slice
// header updates out of the per-value loop.
func (d *Document) scan(b []byte) error {
	// Every value takes at least one byte plus a separator; a fifth of the length
	// covers typical documents.
	if want := len(b)/5 + 16; cap(d.nodes) < want && want < 1<<20 {
		d.nodes = make([]node, 0, want)
	}
	nodes := d.nodes[:cap(d.nodes)]
	d.rootKeys = d.rootKeys[:0]
	cnt := int32(0)
	stack := d.stack[:0]
	n := len(b)
	i := skipWS(b, 0)
	var err error
	if i == n {
		err = &JSONError{Offset: i, Msg: "empty document"}
		goto fail
	}
	for {
		// i is at the first byte of a value; room for two more entries (a key and
		// a value) keeps the writes below in bounds.
		if int(cnt)+2 > len(nodes) {
			nodes = growNodes(nodes)
		}
		if i >= n {
			err = jsonErr(b, i, "a value")
			goto fail
		}
		if len(stack) > 0 {
			stack[len(stack)-1].count++
		}
		switch c := b[i]; c {
		case '"':
			j := stringEnd(b, i+1)
			var esc int32
			if j >= n || b[j] != '"' {
				if j, esc, err = scanStringSlow(b, i, j); err != nil {
					goto fail
				}
			}
			j++
			nodes[cnt] = node{start: int32(i), end: int32(j), next: cnt + 1, n: esc, kind: KindString}
			cnt++
			i = j
		case '{', '[':
			if len(stack) >= MaxDepth {
				err = &JSONError{Offset: i, Msg: fmt.Sprintf("nesting deeper than %d", MaxDepth), tooDeep: true}
				goto fail
			}
			obj := c == '{'
			k, closer := KindArray, byte(']')
			if obj {
				k, closer = KindObject, '}'
			}
			stack = append(stack, frame{idx: cnt, obj: obj})
			nodes[cnt] = node{start: int32(i), kind: k}
			cnt++
			i = skipWS(b, i+1)
			if i < n && b[i] == closer {
				break // closed below
			}
			if obj {
				stack[len(stack)-1].lastKey = cnt
				if i, err = scanKey(b, i, &nodes[cnt]); err != nil {
					goto fail
				}
				if len(stack) == 1 {
					d.rootKeys = append(d.rootKeys, rootKey{fp: nodes[cnt].n, key: cnt})
				}
				cnt++
			}
			continue
		case 't':
			if !hasLit(b, i, "true") {
				err = jsonErr(b, i, "a value")
				goto fail
			}
			nodes[cnt] = node{start: int32(i), end: int32(i + 4), next: cnt + 1, kind: KindBool}
			cnt++
			i += 4
		case 'f':
			if !hasLit(b, i, "false") {
				err = jsonErr(b, i, "a value")
				goto fail
			}
			nodes[cnt] = node{start: int32(i), end: int32(i + 5), next: cnt + 1, kind: KindBool}
			cnt++
			i += 5
		case 'n':
			if !hasLit(b, i, "null") {
				err = jsonErr(b, i, "a value")
				goto fail
			}
			nodes[cnt] = node{start: int32(i), end: int32(i + 4), next: cnt + 1, kind: KindNull}
			cnt++
			i += 4
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			j, nerr := scanNumber(b, i)
			if nerr != nil {
				err = nerr
				goto fail
			}
			nodes[cnt] = node{start: int32(i), end: int32(j), next: cnt + 1, kind: KindNumber}
			cnt++
			i = j
		default:
			err = jsonErr(b, i, "a value")
			goto fail
		}
		// A value ended: close containers until one expects another element.
		for {
			if i < n && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if len(stack) == 0 {
				if i != n {
					err = &JSONError{Offset: i, Msg: describe(b, i) + " after the top-level value"}
					goto fail
				}
				d.nodes = nodes[:cnt]
				d.stack = stack
				return nil
			}
			top := &stack[len(stack)-1]
			if i >= n {
				err = jsonErr(b, i, closerWant(top.obj))
				goto fail
			}
			c := b[i]
			if c == ',' {
				i++
				if i < n && b[i] <= ' ' {
					i = skipWS(b, i)
				}
				if top.obj {
					if int(cnt)+2 > len(nodes) {
						nodes = growNodes(nodes)
					}
					nodes[top.lastKey].next = cnt
					top.lastKey = cnt
					if i, err = scanKey(b, i, &nodes[cnt]); err != nil {
						goto fail
					}
					if len(stack) == 1 {
						d.rootKeys = append(d.rootKeys, rootKey{fp: nodes[cnt].n, key: cnt})
					}
					cnt++
				}
				break
			}
			if (top.obj && c == '}') || (!top.obj && c == ']') {
				nd := &nodes[top.idx]
				nd.end = int32(i + 1)
				nd.next = cnt
				nd.n = top.count
				if top.obj && top.count > 0 {
					nodes[top.lastKey].next = cnt
				}
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			err = jsonErr(b, i, closerWant(top.obj))
			goto fail
		}
	}
fail:
	d.nodes = nodes[:0]
	d.stack = stack[:0]
	return err
}

// growNodes doubles the writable tape; every entry written so far is kept.
func growNodes(nodes []node) []node {
	nodes = slices.Grow(nodes, len(nodes)+16)
	return nodes[:cap(nodes)]
}

func closerWant(obj bool) string {
	if obj {
		return "',' or '}'"
	}
	return "',' or ']'"
}

// scanKey reads `"name" :` into key and returns the offset of the member's value.
// key.next is fixed up by scan once the member's value is complete.
func scanKey(b []byte, i int, key *node) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, jsonErr(b, i, "a member name")
	}
	j := stringEnd(b, i+1)
	fp := int32(0)
	if j < len(b) && b[j] == '"' {
		if l := j - i - 1; l > 0 {
			fp = int32(min(l, 0x7fff))<<16 | int32(b[i+1])<<8 | int32(b[j-1])
		}
	} else {
		var err error
		if j, _, err = scanStringSlow(b, i, j); err != nil {
			return j, err
		}
		fp = escapedFP
	}
	j++
	*key = node{start: int32(i), end: int32(j), n: fp, kind: kindKey}
	if j < len(b) && b[j] == ':' {
		j++
	} else {
		j = skipWS(b, j)
		if j >= len(b) || b[j] != ':' {
			return j, jsonErr(b, j, "':'")
		}
		j++
	}
	if j < len(b) && b[j] > ' ' {
		return j, nil
	}
	return skipWS(b, j), nil
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// stringEnd returns the offset of the first '"', '\\' or control byte at or after
// i, or an offset within the last 8 bytes of b. It tests eight bytes per step; UTF-8 was validated up front,
// so other bytes need no look.
func stringEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		s := x ^ (lsb * '\\')
		m := (((q - lsb) &^ q) | ((s - lsb) &^ s) | ((x - lsb*0x20) &^ x)) & msb
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i // the last few bytes are left to scanStringSlow, keeping this inlinable
}

// scanStringSlow continues a string that stringEnd stopped in at j (an escape, a
// control byte or the end) and returns the offset of its closing quote.
func scanStringSlow(b []byte, start, j int) (int, int32, error) {
	esc := int32(0)
	for {
		if j >= len(b) {
			return j, esc, &JSONError{Offset: start, Msg: "unterminated string"}
		}
		switch c := b[j]; {
		case c == '"':
			return j, esc, nil
		case c == '\\':
			esc = 1
			if j+1 >= len(b) {
				return j, esc, &JSONError{Offset: start, Msg: "unterminated string"}
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(b)-j < 6 || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return j, esc, &JSONError{Offset: j, Msg: `invalid \u escape in string`}
				}
				j += 6
			default:
				return j, esc, &JSONError{Offset: j, Msg: fmt.Sprintf("invalid escape %q in string", "\\"+string(rune(b[j+1])))}
			}
		case c < 0x20:
			return j, esc, &JSONError{Offset: j, Msg: fmt.Sprintf("control character 0x%02x in string", c)}
		default:
			j++
			continue
		}
		j = stringEnd(b, j)
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks the RFC 8259 number grammar.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, &JSONError{Offset: i, Msg: fmt.Sprintf("invalid number: %s", describe(b, i))}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, &JSONError{Offset: i, Msg: "invalid number: digit expected after '.'"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, &JSONError{Offset: i, Msg: "invalid number: digit expected in exponent"}
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// value wraps tape entry i as a Value.
func (d *Document) value(i int32) Value {
	nd := &d.nodes[i]
	return Value{raw: d.data[nd.start:nd.end], kind: nd.kind, esc: nd.n != 0 && nd.kind == KindString}
}

// lookup returns the tape index of the value of the first member of object obj
// named name (fingerprint fp, word nameWord(name)), or -1. Duplicate names resolve
// to the first member: one fixed rule that backfill's SQL must mirror.
func (d *Document) lookup(obj int32, name string, fp int32, w uint64) int32 {
	nodes := d.nodes
	if obj == 0 {
		for _, rk := range d.rootKeys {
			if rk.fp == fp {
				if d.keyIs(&nodes[rk.key], name, w) {
					return rk.key + 1
				}
			} else if rk.fp == escapedFP && d.escapedKeyIs(rk.key, name) {
				return rk.key + 1
			}
		}
		return -1
	}
	end := nodes[obj].next
	for k := obj + 1; k < end; k = nodes[k].next {
		nd := &nodes[k]
		if nd.n == fp {
			if d.keyIs(nd, name, w) {
				return k + 1
			}
		} else if nd.n == escapedFP && d.escapedKeyIs(k, name) {
			return k + 1
		}
	}
	return -1
}

// nameWord packs the first eight bytes of a name, zero-padded, for keyIs.
func nameWord(name string) uint64 {
	var w uint64
	for i := min(len(name), 8) - 1; i >= 0; i-- {
		w = w<<8 | uint64(name[i])
	}
	return w
}

var wordMask = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff}

// keyIs compares the unescaped key nd, whose fingerprint (and so length) matched,
// with name. Names of up to eight bytes — most field names — compare as one masked
// word load instead of a call to memequal.
func (d *Document) keyIs(nd *node, name string, w uint64) bool {
	p := int(nd.start) + 1
	if l := len(name); l <= 8 && p+8 <= len(d.buf) {
		return binary.LittleEndian.Uint64(d.buf[p:])&wordMask[l] == w
	}
	return d.data[p:nd.end-1] == name
}

func (d *Document) escapedKeyIs(k int32, name string) bool {
	nd := &d.nodes[k]
	d.scratch = appendUnquoted(d.scratch[:0], d.data[nd.start:nd.end])
	return string(d.scratch) == name
}

// child is lookup through the per-document memo.
func (d *Document) child(obj int32, name string, fp int32, w uint64, id uint32) int32 {
	if id == 0 || obj == 0 || d.nodes[obj].n <= memoMinMembers {
		// The root's dense key list, and small objects, are cheaper to scan through
		// the index than the memo is to consult and fill.
		return d.lookup(obj, name, fp, w)
	}
	h := (uint32(obj)*0x9E3779B1 ^ id*0x85EBCA6B) >> (32 - memoBits)
	e := &d.memo[h]
	if e.gen == d.gen && e.parent == obj && e.name == id {
		return e.child
	}
	c := d.lookup(obj, name, fp, w)
	*e = memoEntry{gen: d.gen, parent: obj, name: id, child: c}
	return c
}

// index returns the tape index of element i (negative counts from the end) of array
// arr, or -1.
func (d *Document) index(arr int32, i int) int32 {
	cnt := int(d.nodes[arr].n)
	if i < 0 {
		i += cnt
	}
	if i < 0 || i >= cnt {
		return -1
	}
	k := arr + 1
	for ; i > 0; i-- {
		k = d.nodes[k].next
	}
	return k
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
