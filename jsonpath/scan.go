package jsonpath

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// scan checks b's JSON grammar and fills d.nodes. It is iterative, so depth costs
// heap (bounded by MaxDepth), never goroutine stack. The tape is written by index into
// spare capacity, grown in a rare slow path, to keep append's growth check and slice
// header updates out of the per-value loop.
//
// It does not check UTF-8, but says whether it has to be checked: ascii is true when
// every byte of b is below 0x80, and then b is valid UTF-8. Outside strings the
// grammar admits no other byte; inside them stringEnd ORs together every word it
// reads (bytes past the string's end included, which only errs towards checking) and
// scanStringSlow every byte it steps over, into high.
func (d *Document) scan(b []byte) (ascii bool, err error) {
	var high uint64
	// Every value takes at least one byte plus a separator; a fifth of the length
	// covers typical documents.
	if want := len(b)/5 + 16; cap(d.nodes) < want && want < 1<<20 {
		d.nodes = make([]node, 0, want)
	}
	nodes := d.nodes[:cap(d.nodes)]
	d.rootKeys = d.rootKeys[:0]
	cnt := 0          // entries written: an int32 here cost a sign extension and a spill per value (2% of scan)
	count := int32(0) // children of the innermost open container so far
	key := false      // a member name comes first
	stack := d.stack[:0]
	n := len(b)
	i := skipWS(b, 0)
	if i == n {
		err = &JSONError{Offset: i, Msg: "empty document"}
		goto fail
	}
	for {
		// i is at the first byte of a value, or of a member name before it (key);
		// room for two more entries (a key and a value) keeps the writes below in
		// bounds.
		if cnt+2 > len(nodes) {
			nodes = growNodes(nodes)
		}
		if key {
			// The name is read here, in the loop, not by a function: Go keeps no
			// register across a call, so a call per member spilled and reloaded
			// scan's state (10% of Reset in BenchmarkReset).
			key = false
			if i >= n || b[i] != '"' {
				err = jsonErr(b, i, "a member name")
				goto fail
			}
			j := stringEnd(b, i+1, &high)
			fp := int32(0) // keyFP of the name, from its bytes
			if j < n && b[j] == '"' {
				if l := j - i - 1; l > 0 {
					// b[i+1] and b[j-1], read without bounds checks: i < j < n.
					p := unsafe.Pointer(unsafe.SliceData(b))
					fp = int32(min(l, 0x7fff))<<16 | int32(*(*byte)(unsafe.Add(p, i+1)))<<8 | int32(*(*byte)(unsafe.Add(p, j-1)))
				}
			} else {
				if j, _, err = scanStringSlow(b, i, j, &high); err != nil {
					goto fail
				}
				fp = escapedFP
			}
			j++
			setNode(&nodes[cnt], int32(i), int32(j), 0, fp, kindKey)
			cnt++
			if j < n && b[j] == ':' {
				j++
			} else {
				j = skipWS(b, j)
				if j >= n || b[j] != ':' {
					err = jsonErr(b, j, "':'")
					goto fail
				}
				j++
			}
			if j < n && b[j] <= ' ' {
				j = skipWS(b, j)
			}
			i = j
		}
		if i >= n {
			err = jsonErr(b, i, "a value")
			goto fail
		}
		count++ // at the top level, counted for no one
		switch c := b[i]; c {
		case '"':
			j := stringEnd(b, i+1, &high)
			var esc int32
			if j >= n || b[j] != '"' {
				if j, esc, err = scanStringSlow(b, i, j, &high); err != nil {
					goto fail
				}
			}
			j++
			setNode(&nodes[cnt], int32(i), int32(j), int32(cnt+1), esc, KindString)
			cnt++
			i = j
		case '{', '[':
			if len(stack) >= MaxDepth {
				err = &JSONError{Offset: i, Msg: errTooDeepMsg, tooDeep: true}
				goto fail
			}
			obj := c == '{'
			k, closer := KindArray, byte(']')
			if obj {
				k, closer = KindObject, '}'
			}
			stack = append(stack, frame{idx: int32(cnt), outer: count, obj: obj})
			count = 0
			setNode(&nodes[cnt], int32(i), 0, 0, 0, k)
			cnt++
			i = skipWS(b, i+1)
			if i < n && b[i] == closer {
				break // closed below
			}
			if obj {
				stack[len(stack)-1].lastKey = int32(cnt)
				key = true
			}
			continue
		case 't', 'f', 'n':
			lit := &literals[c]
			if !hasLit(b, i, lit.text) {
				err = jsonErr(b, i, "a value")
				goto fail
			}
			setNode(&nodes[cnt], int32(i), int32(i+len(lit.text)), int32(cnt+1), 0, lit.kind)
			cnt++
			i += len(lit.text)
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			// Integers without sign are read here; any other number calls
			// scanNumber (see the member name above for why).
			j := i
			for j < n && isDigit(b[j]) {
				j++
			}
			if j == i || (c == '0' && j > i+1) || (j < n && (b[j] == '.' || b[j]|0x20 == 'e')) {
				var nerr error
				if j, nerr = scanNumber(b, i); nerr != nil {
					err = nerr
					goto fail
				}
			}
			setNode(&nodes[cnt], int32(i), int32(j), int32(cnt+1), 0, KindNumber)
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
				d.indexRootKeys()
				return high&msb == 0, nil
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
					nodes[top.lastKey].next = int32(cnt)
					top.lastKey = int32(cnt)
					key = true
				}
				break
			}
			if (top.obj && c == '}') || (!top.obj && c == ']') {
				nd := &nodes[top.idx]
				nd.end = int32(i + 1)
				nd.next = int32(cnt)
				nd.n = count
				if top.obj && count > 0 {
					nodes[top.lastKey].next = int32(cnt)
				}
				count = top.outer
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
	return false, err
}

// indexRootKeys lists the root object's members in d.rootKeys, following the
// chain of next links scan leaves between an object's member names. It runs after
// scan rather than in it: there, appending took a test per member name at every
// depth and a growth check, and kept d live across scan's loop.
func (d *Document) indexRootKeys() {
	nodes := d.nodes
	if len(nodes) == 0 || nodes[0].kind != KindObject {
		return
	}
	m := int(nodes[0].n)
	if cap(d.rootKeys) < m {
		d.rootKeys = make([]rootKey, 0, m)
	}
	rk := d.rootKeys[:m]
	k := int32(1)
	for x := range rk {
		rk[x] = rootKey{fp: nodes[k].n, key: k}
		k = nodes[k].next
	}
	d.rootKeys = rk
}

// frame is an open container during scan. The innermost container's children are
// counted in scan's count, not here: an increment in memory per value, behind a test
// for an open container, was 281 of a document's 9,800 instructions.
type frame struct {
	idx     int32 // tape index of the container
	outer   int32 // the enclosing container's count of children so far
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

// setNode writes a tape entry field by field. Assigning a composite literal to the
// slot builds it in a stack temporary by 4-byte stores and copies it by 16-byte
// loads, which the CPU cannot forward from those stores: in a CPU profile of the
// daemon with 1 rule, the copy of each string's entry was a tenth of the scan.
func setNode(nd *node, start, end, next, n int32, kind Kind) {
	nd.start, nd.end, nd.next, nd.n, nd.kind = start, end, next, n, kind
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

// literals are the JSON literals by their first byte, with their kinds: one case of
// the scanner serves all three.
var literals = [...]struct {
	text string
	kind Kind
}{
	't': {"true", KindBool},
	'f': {"false", KindBool},
	'n': {"null", KindNull},
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// stringEnd returns the offset of the first '"', '\\' or control byte at or after
// i, or an offset within the last 8 bytes of b. It tests eight bytes per step, and
// ORs each word it reads into high, for scan to tell whether UTF-8 needs checking.
//
// Two things keep the step short (it was a third of scan in BenchmarkReset): the
// word is read through a pointer, as the loop condition already bounds it, because
// b[i:] cost a bounds check, a length check, the masking of the slice's pointer and
// spills (550 instructions of a document's 10,700); and the three byte tests share
// one &^ x, because a byte of x^'"' or x^'\\' has its top bit where x's byte has it
// (360 instructions).
func stringEnd(b []byte, i int, high *uint64) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
		*high |= x
		q := x ^ (lsb * '"')
		s := x ^ (lsb * '\\')
		m := ((q - lsb) | (s - lsb) | (x - lsb*0x20)) &^ x & msb
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return i // the last few bytes are left to scanStringSlow, keeping this inlinable
}

// scanStringSlow continues a string that stringEnd stopped in at j (an escape, a
// control byte or the end) and returns the offset of its closing quote.
func scanStringSlow(b []byte, start, j int, high *uint64) (int, int32, error) {
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
			*high |= uint64(c) // only its top bit counts
			j++
			continue
		}
		j = stringEnd(b, j, high)
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

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
	}
	return i
}

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
