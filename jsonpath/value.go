package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/unquote"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	KindInvalid Kind = iota // the zero Value: nothing selected
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindBool:
		return "boolean"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	case KindArray:
		return "array"
	case KindObject:
		return "object"
	}
	return "invalid"
}

// Value is a JSON value: a node selected from a Document, or a constant from ValueOf.
// It holds the node's JSON text and decodes on demand. A Value from a Document
// aliases the bytes given to Reset; copy strings from it (strings.Clone) to keep them
// longer than those bytes.
type Value struct {
	raw  string
	kind Kind
	esc  bool // a string whose text contains escapes, so Str must decode
}

// Kind returns the JSON type (KindInvalid for the zero Value).
func (v Value) Kind() Kind { return v.kind }

// Raw returns the JSON text of the value as it appears in the document.
func (v Value) Raw() string { return v.raw }

// Str returns the decoded string of a KindString value, "" otherwise. It allocates
// only when the JSON text contains escapes.
func (v Value) Str() string {
	if v.kind != KindString || len(v.raw) < 2 {
		return ""
	}
	if !v.esc {
		return v.raw[1 : len(v.raw)-1]
	}
	return string(appendUnquoted(nil, v.raw))
}

// Num returns the value of a KindNumber as float64 (0 otherwise). Numbers beyond the
// float64 range become ±Inf; integers beyond 2^53 are rounded to the nearest float64.
func (v Value) Num() float64 {
	if v.kind != KindNumber {
		return 0
	}
	if f, ok := parseSimpleNumber(v.raw); ok {
		return f
	}
	f, _ := strconv.ParseFloat(v.raw, 64) // the text is a valid JSON number; ErrRange yields ±Inf
	return f
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseSimpleNumber converts the common "-123.45" shape exactly and several times
// faster than strconv: rule comparisons parse the same event fields over and over.
// With a mantissa below 2^53 and at most 22 fraction digits, both operands of the
// division are exact float64s and IEEE division rounds correctly, so the result is
// what strconv.ParseFloat returns. Anything else (exponents, long mantissas) is
// left to strconv.
func parseSimpleNumber(s string) (float64, bool) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var m uint64
	digits, frac := 0, -1
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
		if digits > 15 {
			return 0, false
		}
	}
	if digits == 0 || m >= 1<<53 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// Bool returns the value of a KindBool (false otherwise).
func (v Value) Bool() bool { return v.kind == KindBool && v.raw == "true" }

// Interface decodes the value to nil, bool, float64, string, []any or map[string]any.
func (v Value) Interface() any {
	switch v.kind {
	case KindNull, KindInvalid:
		return nil
	case KindBool:
		return v.Bool()
	case KindNumber:
		return v.Num()
	case KindString:
		return v.Str()
	}
	var x any
	if err := sonic.UnmarshalString(v.raw, &x); err != nil {
		// Only reachable if the bytes under a document changed after Reset.
		return nil
	}
	return x
}

// Len returns the number of elements of an array or members of an object, else 0.
func (v Value) Len() int {
	if v.kind != KindArray && v.kind != KindObject {
		return 0
	}
	n := 0
	forMembers(v, func(string, Value) bool { n++; return true })
	return n
}

// Elems calls yield for each element of an array in order, until yield returns false.
func (v Value) Elems(yield func(Value) bool) {
	if v.kind != KindArray {
		return
	}
	forMembers(v, func(_ string, e Value) bool { return yield(e) })
}

// Members calls yield for each member of an object in document order (names decoded),
// until yield returns false.
func (v Value) Members(yield func(name string, v Value) bool) {
	if v.kind != KindObject {
		return
	}
	forMembers(v, yield)
}

// String returns the JSON text, so Values print readably.
func (v Value) String() string { return v.raw }

// forMembers walks the direct children of an array or object given as JSON text.
// The text came from a validated document or from ValueOf, so it only guards
// bounds rather than re-validating.
func forMembers(v Value, yield func(string, Value) bool) {
	s := v.raw
	i := 1
	for {
		i = skipWSs(s, i)
		if i >= len(s) || s[i] == ']' || s[i] == '}' {
			return
		}
		if s[i] == ',' {
			i = skipWSs(s, i+1)
		}
		name := ""
		if v.kind == KindObject {
			j := skipRaw(s, i)
			if j <= i {
				return
			}
			name = string(appendUnquoted(nil, s[i:j]))
			i = skipWSs(s, j)
			if i >= len(s) || s[i] != ':' {
				return
			}
			i = skipWSs(s, i+1)
		}
		j := skipRaw(s, i)
		if j <= i {
			return
		}
		e := rawValue(s[i:j])
		if !yield(name, e) {
			return
		}
		i = j
	}
}

func skipWSs(s string, i int) int {
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

// rawValue classifies the JSON text of one valid value.
func rawValue(s string) Value {
	if s == "" {
		return Value{}
	}
	v := Value{raw: s}
	switch c := s[0]; {
	case c == '"':
		v.kind = KindString
		v.esc = strings.IndexByte(s, '\\') >= 0
	case c == '{':
		v.kind = KindObject
	case c == '[':
		v.kind = KindArray
	case c == 't' || c == 'f':
		v.kind = KindBool
	case c == 'n':
		v.kind = KindNull
	default:
		v.kind = KindNumber
	}
	return v
}

// skipRaw returns the end of the valid JSON value starting at s[i]; it never reads
// out of bounds whatever s holds.
func skipRaw(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(s)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipRaw(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	default:
		j := i
		for j < len(s) && s[j] != ',' && s[j] != ']' && s[j] != '}' && !isWS(s[j]) {
			j++
		}
		return j
	}
}

// appendUnquoted appends the decoded content of the JSON string literal q.
func appendUnquoted(dst []byte, q string) []byte {
	if len(q) < 2 {
		return dst
	}
	body := q[1 : len(q)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return append(dst, body...)
	}
	dst = slices.Grow(dst, len(body))
	tail := dst[len(dst):]
	if err := unquote.IntoBytes(body, &tail); err == 0 {
		return dst[:len(dst)+len(tail)]
	}
	return appendUnquotedSlow(dst, body)
}

// appendUnquotedSlow decodes escapes in pure Go; lone surrogates become U+FFFD as in
// encoding/json.
func appendUnquotedSlow(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'u':
			if i+4 >= len(s) {
				return dst
			}
			r := rune(hex4(s[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 := rune(hex4(s[i+3 : i+7]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			// Validated JSON has no other escapes; any other byte is kept as is.
			c, _ := unescapeByte(s[i])
			dst = append(dst, c)
		}
	}
	return dst
}

// unescapeByte is the byte that the one-letter escape \e of JSON and of RFC 9535
// string literals stands for (\b \f \n \r \t \/ \\ \"), and whether e is one. \u
// escapes, and RFC 9535's \' (allowed in single-quoted literals only), are the
// callers' business.
func unescapeByte(e byte) (byte, bool) {
	switch e {
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case '/', '\\', '"':
		return e, true
	}
	return e, false
}

func hex4(s string) int {
	n := 0
	for i := 0; i < 4 && i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		}
	}
	return n
}

// Equal reports RFC 9535 equality: numbers by value (1 == 1.0), strings by code
// points, true/false/null by identity, arrays element-wise, objects by member set
// regardless of order. Values of different kinds, and zero Values, are never equal.
func Equal(a, b Value) bool { return equal(a, b, 0) }

func equal(a, b Value, depth int) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case KindNull:
		return true
	case KindBool:
		return a.Bool() == b.Bool()
	case KindNumber:
		return a.raw == b.raw || a.Num() == b.Num()
	case KindString:
		if !a.esc && !b.esc {
			return a.raw == b.raw
		}
		return a.Str() == b.Str()
	case KindArray, KindObject:
		if a.raw == b.raw {
			return true // the same text is the same value, however deep
		}
		return equalContainers(a, b)
	}
	return false
}

var scratchDocs = sync.Pool{New: func() any { return NewDocument() }}

// equalContainers compares two arrays or objects through their structural indexes,
// so the cost is linear in their size whatever their depth; comparing the texts
// level by level would rescan nested values once per level.
func equalContainers(a, b Value) bool {
	da := scratchDocs.Get().(*Document)
	db := scratchDocs.Get().(*Document)
	defer func() {
		da.Release()
		db.Release()
		scratchDocs.Put(da)
		scratchDocs.Put(db)
	}()
	// The texts come from validated documents or from ValueOf; if bytes under a
	// document were changed after Reset they may not parse, and then nothing is equal.
	if da.Reset(stringBytes(a.raw)) != nil || db.Reset(stringBytes(b.raw)) != nil {
		return false
	}
	return equalNodes(da, 0, db, 0)
}

// stringBytes views s as bytes without copying; Reset only reads its input.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// smallObject is the member count up to which objects are matched by linear scan
// rather than through a map.
const smallObject = 16

func equalNodes(da *Document, i int32, db *Document, j int32) bool {
	na, nb := &da.nodes[i], &db.nodes[j]
	if na.kind != nb.kind {
		return false
	}
	switch na.kind {
	case KindArray:
		if na.n != nb.n {
			return false
		}
		for x, y := i+1, j+1; x < na.next; x, y = da.nodes[x].next, db.nodes[y].next {
			if !equalNodes(da, x, db, y) {
				return false
			}
		}
		return true
	case KindObject:
		return equalObjects(da, i, db, j)
	}
	return equal(da.value(i), db.value(j), 0)
}

// equalObjects compares member sets; a name that repeats counts once, with its first
// value, as in lookups.
func equalObjects(da *Document, i int32, db *Document, j int32) bool {
	nameOf := func(d *Document, k int32) string {
		nd := &d.nodes[k]
		if nd.n == escapedFP {
			return string(appendUnquoted(nil, d.data[nd.start:nd.end]))
		}
		return d.data[nd.start+1 : nd.end-1]
	}
	members := func(d *Document, obj int32) map[string]int32 {
		m := make(map[string]int32, d.nodes[obj].n)
		for k := obj + 1; k < d.nodes[obj].next; k = d.nodes[k].next {
			name := nameOf(d, k)
			if _, dup := m[name]; !dup {
				m[name] = k + 1
			}
		}
		return m
	}
	if da.nodes[i].n <= smallObject && db.nodes[j].n <= smallObject {
		// Few members: match by scanning, no allocation.
		count := func(d *Document, obj int32) int {
			n := 0
			for k := obj + 1; k < d.nodes[obj].next; k = d.nodes[k].next {
				name := nameOf(d, k)
				if d.lookup(obj, name, keyFP(name), nameWord(name)) == k+1 {
					n++ // first occurrence of its name
				}
			}
			return n
		}
		if count(da, i) != count(db, j) {
			return false
		}
		for k := i + 1; k < da.nodes[i].next; k = da.nodes[k].next {
			name := nameOf(da, k)
			if da.lookup(i, name, keyFP(name), nameWord(name)) != k+1 {
				continue // a repeated name: only the first counts
			}
			v := db.lookup(j, name, keyFP(name), nameWord(name))
			if v < 0 || !equalNodes(da, k+1, db, v) {
				return false
			}
		}
		return true
	}
	ma, mb := members(da, i), members(db, j)
	if len(ma) != len(mb) {
		return false
	}
	for name, x := range ma {
		y, ok := mb[name]
		if !ok || !equalNodes(da, x, db, y) {
			return false
		}
	}
	return true
}

// Compare orders two numbers or two strings (strings by Unicode code point, which is
// UTF-8 byte order). ok is false for any other pair.
func Compare(a, b Value) (c int, ok bool) {
	switch {
	case a.kind == KindNumber && b.kind == KindNumber:
		x, y := a.Num(), b.Num()
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case a.kind == KindString && b.kind == KindString:
		if !a.esc && !b.esc {
			return strings.Compare(a.raw[1:len(a.raw)-1], b.raw[1:len(b.raw)-1]), true
		}
		return strings.Compare(a.Str(), b.Str()), true
	}
	return 0, false
}

// ValueOf converts a Go value — nil, bool, any integer or float type, json.Number,
// string, []any, map[string]any, Value — to a Value. Rule constants use it. NaN, ±Inf,
// nesting beyond MaxDepth and other types are errors.
func ValueOf(x any) (Value, error) {
	b, err := appendGo(nil, x, 0)
	if err != nil {
		return Value{}, err
	}
	return rawValue(string(b)), nil
}

// MustValueOf is ValueOf for constants known to be valid.
func MustValueOf(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

var errValueDepth = fmt.Errorf("jsonpath: value nested deeper than %d levels (limit jsonpath.MaxDepth; cyclic?)", MaxDepth)

func appendGo(b []byte, x any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return b, errValueDepth
	}
	switch x := x.(type) {
	case nil:
		return append(b, "null"...), nil
	case Value:
		if x.kind == KindInvalid {
			return b, errors.New("jsonpath: ValueOf of the zero Value")
		}
		return append(b, x.raw...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendQuoted(b, x), nil
	case json.Number:
		s := string(x)
		if s == "" {
			return b, errors.New("jsonpath: empty json.Number")
		}
		if j, err := scanNumber([]byte(s), 0); err != nil || j != len(s) {
			return b, fmt.Errorf("jsonpath: invalid json.Number %q", s)
		}
		return append(b, s...), nil
	case int, int8, int16, int32, int64:
		return strconv.AppendInt(b, reflect.ValueOf(x).Int(), 10), nil
	case uint, uint8, uint16, uint32, uint64:
		return strconv.AppendUint(b, reflect.ValueOf(x).Uint(), 10), nil
	case float32:
		return appendFloat(b, float64(x), 32)
	case float64:
		return appendFloat(b, x, 64)
	case []any:
		if depth >= MaxDepth {
			return b, errValueDepth
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendGo(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		if depth >= MaxDepth {
			return b, errValueDepth
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a deterministic text keeps Raw stable across runs
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendGo(b, x[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	// Typed slices and maps (e.g. []string from YAML) go through reflection.
	rv := reflect.ValueOf(x)
	if depth >= MaxDepth {
		return b, errValueDepth
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendGo(b, rv.Index(i).Interface(), depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k.String())
			b = append(b, ':')
			var err error
			if b, err = appendGo(b, rv.MapIndex(k).Interface(), depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("jsonpath: cannot use %T as a JSON value", x)
}

func appendFloat(b []byte, f float64, bitSize int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("jsonpath: %v is not a JSON number", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, bitSize), nil
	}
	return strconv.AppendFloat(b, f, 'g', -1, bitSize), nil
}

// appendQuoted writes s as a JSON string literal; invalid UTF-8 becomes U+FFFD.
func appendQuoted(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
