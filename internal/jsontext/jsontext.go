// Package jsontext checks JSON text for what decoders take silently: a key given
// twice in one object (encoding/json and sonic keep the last) and bytes that are not
// UTF-8 (both turn them into U+FFFD). A rule or request naming "threshold" twice
// would otherwise be a rule of the last one, though the author may have meant the
// first; YAML rules files already refuse both.
//
// Contract: RepeatedKey and InvalidUTF8 report the first problem with its byte offset,
// and nothing for text that is not JSON at all (the decoder says what is wrong there).
package jsontext

import (
	"bytes"
	"encoding/json"
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
