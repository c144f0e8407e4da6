package window

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// Canonical value tags. A canonical key is a sequence of tagged values; equal JSON values
// (1 and 1.0, objects with members in another order) have equal keys.
const (
	tagNull   = 'n'
	tagFalse  = 'f'
	tagTrue   = 't'
	tagNumber = 'd' // 8 bytes: float64 bits, big-endian, -0 as 0
	// tagInteger keys an integer float64 does not hold (inexactInteger): uvarint
	// length, its digits as written, "-" first if negative. JSON writes no leading
	// zeros, so the text is the integer's one spelling.
	tagInteger = 'i'
	tagString  = 's' // uvarint length, bytes
	tagArray   = 'a' // uvarint count, values
	tagObject  = 'o' // uvarint count, (uvarint name length, name, value) sorted by name
)

// AppendValueKey appends v's canonical key: JSON equality as the rule language defines
// it (numbers by value, strings by code points, arrays in order, objects by member,
// a repeated member name resolving to the first). The zero Value (nothing selected)
// is null. An integer written without fraction or exponent that float64 does not hold
// (a 64-bit id beyond 2^53) is keyed by its digits, not by the float64 it rounds to:
// two ids one apart are two groups and two distinct values, as conditions, which
// refuse such literals, tell them apart. Written 1.2e18 or 1234567890123456789.0, a
// number claims no exactness and is its float64, as in conditions.
func AppendValueKey(dst []byte, v jsonpath.Value) []byte {
	switch v.Kind() {
	case jsonpath.KindBool:
		if v.Bool() {
			return append(dst, tagTrue)
		}
		return append(dst, tagFalse)
	case jsonpath.KindNumber:
		f := v.Num()
		// Below 2^53 every integer is exact: the text is looked at only beyond.
		if math.Abs(f) >= 1<<53 && inexactInteger(v.Raw(), f) {
			raw := v.Raw()
			dst = append(dst, tagInteger)
			dst = binary.AppendUvarint(dst, uint64(len(raw)))
			return append(dst, raw...)
		}
		if f == 0 {
			f = 0 // -0
		}
		dst = append(dst, tagNumber)
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
	case jsonpath.KindString:
		s := v.Str()
		dst = append(dst, tagString)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case jsonpath.KindArray:
		dst = append(dst, tagArray)
		dst = binary.AppendUvarint(dst, uint64(v.Len()))
		for e := range v.Elems {
			dst = AppendValueKey(dst, e)
		}
		return dst
	case jsonpath.KindObject:
		type member struct {
			name string
			v    jsonpath.Value
		}
		var ms []member
		seen := map[string]bool{}
		for name, mv := range v.Members {
			if !seen[name] {
				seen[name] = true
				ms = append(ms, member{name, mv})
			}
		}
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
		dst = append(dst, tagObject)
		dst = binary.AppendUvarint(dst, uint64(len(ms)))
		for _, m := range ms {
			dst = binary.AppendUvarint(dst, uint64(len(m.name)))
			dst = append(dst, m.name...)
			dst = AppendValueKey(dst, m.v)
		}
		return dst
	default:
		return append(dst, tagNull)
	}
}

// inexactInteger reports whether raw, the JSON text of a number whose float64 is f,
// is an integer written without fraction or exponent that f does not equal.
func inexactInteger(raw string, f float64) bool {
	digits := strings.TrimPrefix(raw, "-")
	if !isDigits(digits) {
		return false
	}
	// f is an integer this far out (or ±Inf, which never equals): its exact decimal
	// digits are what 'f' with no fraction writes.
	var buf [32]byte
	return string(strconv.AppendFloat(buf[:0], math.Abs(f), 'f', 0, 64)) != digits
}

// appendNumberJSON appends finite f as the JSON text of its group key and context
// value. From 2^53 every float64 is an integer, and AppendJSONFloat's shortest digits
// (9223372036854776000 for 2^63) name another integer, which an event may hold and
// which inexactInteger would key by its digits, apart from f: the alert would show an
// id none of its events had, and that text, read back (a rules test expectation, a user
// copying it), would name another group. The exact digits key back to f. From 1e21
// AppendJSONFloat writes an exponent, which claims no exactness and keys as f.
func appendNumberJSON(dst []byte, f float64) []byte {
	if a := math.Abs(f); a >= 1<<53 && a < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', 0, 64)
	}
	return contract.AppendJSONFloat(dst, f)
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var errBadKey = errors.New("window: malformed canonical key")

// appendKeyJSON appends the JSON text of the canonical value at the start of key (as
// encoding/json would write it) and returns the rest of key.
func appendKeyJSON(dst, key []byte) ([]byte, []byte, error) {
	if len(key) == 0 {
		return dst, nil, errBadKey
	}
	tag, key := key[0], key[1:]
	switch tag {
	case tagNull:
		return append(dst, "null"...), key, nil
	case tagTrue:
		return append(dst, "true"...), key, nil
	case tagFalse:
		return append(dst, "false"...), key, nil
	case tagNumber:
		if len(key) < 8 {
			return dst, nil, errBadKey
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(key))
		// A number beyond float64's range is ±Inf to the rule language (1e400 and 1e500
		// are one group). AppendJSONFloat would write "+Inf", which is not JSON and
		// would make the alert record invalid: write a JSON number beyond the range,
		// as the event's was. JSON has no NaN, so only a corrupt key holds one.
		switch {
		case math.IsNaN(f):
			return dst, nil, errBadKey
		case math.IsInf(f, 1):
			return append(dst, "1e999"...), key[8:], nil
		case math.IsInf(f, -1):
			return append(dst, "-1e999"...), key[8:], nil
		}
		return appendNumberJSON(dst, f), key[8:], nil
	case tagInteger:
		// Shown as the event wrote it: an id's digits, not the float64 it rounds to.
		s, rest, err := keyString(key)
		if err != nil {
			return dst, nil, err
		}
		if digits := strings.TrimPrefix(s, "-"); !isDigits(digits) || digits[0] == '0' {
			return dst, nil, errBadKey // a restored key must make a JSON number
		}
		return append(dst, s...), rest, nil
	case tagString:
		s, rest, err := keyString(key)
		if err != nil {
			return dst, nil, err
		}
		return contract.AppendJSONString(dst, s), rest, nil
	case tagArray, tagObject:
		n, w := binary.Uvarint(key)
		if w <= 0 || n > uint64(len(key)) {
			return dst, nil, errBadKey
		}
		key = key[w:]
		open, close := byte('['), byte(']')
		if tag == tagObject {
			open, close = '{', '}'
		}
		dst = append(dst, open)
		for i := uint64(0); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if tag == tagObject {
				var name string
				if name, key, err = keyString(key); err != nil {
					return dst, nil, err
				}
				dst = contract.AppendJSONString(dst, name)
				dst = append(dst, ':')
			}
			if dst, key, err = appendKeyJSON(dst, key); err != nil {
				return dst, nil, err
			}
		}
		return append(dst, close), key, nil
	}
	return dst, nil, errBadKey
}

func keyString(key []byte) (string, []byte, error) {
	n, w := binary.Uvarint(key)
	if w <= 0 || n > uint64(len(key)-w) {
		return "", nil, errBadKey
	}
	return string(key[w : w+int(n)]), key[w+int(n):], nil
}

// GroupJSON is a group's canonical key (one value per group_by path) as the alert
// record's group object: path text → value. It is nil for a rule without group_by.
func GroupJSON(paths []string, key []byte) (map[string]json.RawMessage, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(paths))
	for _, p := range paths {
		var v []byte
		var err error
		if v, key, err = appendKeyJSON(nil, key); err != nil {
			return nil, err
		}
		out[p] = v
	}
	if len(key) != 0 {
		return nil, errBadKey
	}
	return out, nil
}
