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
	"unicode/utf16"
	"unicode/utf8"

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
	f, _ := strconv.ParseFloat(v.raw, 64) // the text is a valid JSON number; ErrRange yields ±Inf
	return f
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
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
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
			dst = append(dst, s[i])
		}
	}
	return dst
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
	case KindArray:
		if depth > MaxDepth {
			return false
		}
		var bs []Value
		forMembers(b, func(_ string, e Value) bool { bs = append(bs, e); return true })
		i, ok := 0, true
		forMembers(a, func(_ string, e Value) bool {
			if i >= len(bs) || !equal(e, bs[i], depth+1) {
				ok = false
				return false
			}
			i++
			return true
		})
		return ok && i == len(bs)
	case KindObject:
		if depth > MaxDepth {
			return false
		}
		bm := map[string]Value{}
		forMembers(b, func(k string, e Value) bool {
			if _, dup := bm[k]; !dup {
				bm[k] = e
			}
			return true
		})
		n, ok := 0, true
		seen := map[string]bool{}
		forMembers(a, func(k string, e Value) bool {
			if seen[k] {
				return true
			}
			seen[k] = true
			n++
			be, found := bm[k]
			if !found || !equal(e, be, depth+1) {
				ok = false
				return false
			}
			return true
		})
		return ok && n == len(bm)
	}
	return false
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

var errValueDepth = errors.New("jsonpath: value nested deeper than MaxDepth (cyclic?)")

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
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float32:
		return appendFloat(b, float64(x), 32)
	case float64:
		return appendFloat(b, x, 64)
	case []any:
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
