// Package jsontext checks JSON text for what decoders take silently: a key given
// twice in one object (encoding/json and sonic keep the last), bytes that are not
// UTF-8 and escapes of lone surrogates ("\ud800" without a low surrogate's after it,
// "\udc00" without a high one's before it: no character; both decoders turn these and
// such bytes into U+FFFD). A rule or request naming "threshold" twice would otherwise
// be a rule of the last one, though the author may have meant the first; YAML rules
// files already refuse a key given twice and bytes that are not UTF-8.
//
// Contract: RepeatedKey, InvalidUTF8 and LoneSurrogate report the first problem with
// its byte offset, and nothing for text that is not JSON at all (the decoder says what
// is wrong there).
package jsontext

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// RepeatedKey returns the first key given twice in one object of data, and the byte
// offset just past it.
func RepeatedKey(data []byte) (key string, offset int64, found bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type object struct {
		keys    map[string]struct{}
		wantKey bool
	}
	var stack []*object // nil entries are arrays
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false // the end, or not JSON: the decoder reports that
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &object{keys: map[string]struct{}{}, wantKey: true})
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1] != nil && stack[n-1].wantKey {
				o := stack[n-1]
				if _, twice := o.keys[t]; twice {
					return t, dec.InputOffset(), true
				}
				o.keys[t] = struct{}{}
				o.wantKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// InvalidUTF8 returns the offset of the first byte of data that is not UTF-8.
func InvalidUTF8(data []byte) (offset int, found bool) {
	if utf8.Valid(data) {
		return 0, false
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i, true
		}
		i += n
	}
	return 0, false
}

// LoneSurrogate returns the offset of the first escape in a string of data that names
// a lone surrogate: \uD800 to \uDBFF not followed by an escape of \uDC00 to \uDFFF, or
// one of those not after such. It is the same text as a byte that is not UTF-8 by
// other means, and decodes to U+FFFD as that does.
func LoneSurrogate(data []byte) (offset int, found bool) {
	if !bytes.Contains(data, []byte(`\u`)) {
		return 0, false
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			r, ok := escapedRune(data, i)
			switch {
			case !ok:
				i++ // another escape: the character after the backslash is not a quote
			case r < 0xD800 || r > 0xDFFF:
				i += 5
			case r <= 0xDBFF:
				if lo, ok := escapedRune(data, i+6); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11 // a pair: one character beyond U+FFFF
					continue
				}
				return i, true
			default:
				return i, true
			}
		}
	}
	return 0, false
}

// escapedRune is the code unit of the \uXXXX escape at data[i:], if there is one.
func escapedRune(data []byte, i int) (rune, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	r, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
	return rune(r), err == nil
}
