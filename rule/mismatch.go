package rule

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// mismatchProblem is the problem of a rule whose JSON holds a value of the wrong kind
// for its field ("when": 5), named by the field's path as validation names fields
// ("when.all[1].path") and in the rule language's words: sonic's decoder, which
// refuses it, names Go types and a byte index. ok is false when ruleJSON has no such
// value (its error is of another kind).
func mismatchProblem(ruleJSON []byte) (p Problem, ok bool) {
	field, msg, ok := typeMismatch(ruleJSON, &Rule{})
	if !ok {
		return Problem{}, false
	}
	if field == "" {
		return Problem{Field: "rule", Msg: msg + "; a rule is an object"}, true
	}
	return Problem{Field: field, Msg: msg}, true
}

// controlMismatch is the problem, as mismatchProblem's for a rule, of a control record
// holding a value of the wrong kind outside its rule: its op, scope or id, a field of
// its mute or destination (a problem of that kind, named as its validation names
// fields), or a mute's until that is a string but not an RFC 3339 time. sonic's
// message names no field, and its index, past the next nested object, pointed at the
// record's closing braces. ok is false when data has no such value, or is not an object
// at all.
func controlMismatch(data []byte) (ve *ValidationError, ok bool) {
	field, msg, ok := typeMismatch(data, &Control{})
	if !ok {
		// A mute's until is a time.Time, whose own decoder refuses a value that is not
		// a string, or a string that is not RFC 3339, with an error encoding/json does
		// not place ("parsing time ..."): a date alone or a time with no zone is the
		// likeliest until written by hand.
		var wire struct {
			Mute struct {
				Until json.RawMessage `json:"until"`
			} `json:"mute"`
		}
		if json.Unmarshal(data, &wire) != nil {
			return nil, false
		}
		until := bytes.TrimSpace(wire.Mute.Until)
		if len(until) == 0 || string(until) == "null" {
			return nil, false
		}
		if until[0] != '"' {
			field, msg = "mute.until", "is "+rawKindName(until)+"; want a string (an RFC 3339 time)"
		} else if m, bad := untilNotRFC3339(until); bad {
			field, msg = "mute.until", m
		} else {
			return nil, false
		}
	}
	if field == "" {
		return nil, false
	}
	ve = &ValidationError{}
	for _, kind := range []string{KindMute, KindDestination} {
		if rest, inside := strings.CutPrefix(field, kind+"."); inside {
			ve.Kind, field = kind, rest
		}
	}
	ve.Problems = []Problem{{Field: field, Msg: msg}}
	return ve, true
}

// untilNotRFC3339 is the problem of until, a JSON string, that time.Time's decoder
// refuses (bad is false when it takes it), saying what is wanted: Go's "parsing time"
// message names a layout, not the zone that a time written by hand most often lacks.
func untilNotRFC3339(until []byte) (msg string, bad bool) {
	var t time.Time
	if t.UnmarshalJSON(until) == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(until, &s) != nil {
		return "is not a valid JSON string; want an RFC 3339 time with a zone, such as \"2026-12-02T10:00:00Z\"", true
	}
	return quoted(s) + " is not an RFC 3339 time with a zone, such as \"2026-12-02T10:00:00Z\"", true
}

// typeMismatch finds, decoding data into v with encoding/json (whose error, unlike
// sonic's, says where the value is), the first value of the wrong kind for its field:
// the field's path in data ("": the whole document) and what is wrong, in the rule
// language's words. ok is false when data has none.
func typeMismatch(data []byte, v any) (field, msg string, ok bool) {
	var ute *json.UnmarshalTypeError
	if !errors.As(json.Unmarshal(data, v), &ute) || ute.Type == nil {
		return "", "", false
	}
	field = pathAt(data, ute.Offset)
	got, want := jsonKindName(ute.Value), goKindName(ute.Type)
	switch {
	case field == "":
		return "", "is " + got, true
	case got == want:
		// A number with a fraction, or out of range, for a whole number ("number 1.5").
		return field, "is " + strings.TrimPrefix(ute.Value, "number ") + "; want a whole number within range", true
	}
	return field, "is " + got + "; want " + want, true
}

// rawKindName names the kind of the JSON value raw, which is not a string.
func rawKindName(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// jsonKindName names the kind of JSON value encoding/json's UnmarshalTypeError.Value
// describes ("number 1.5" is a number).
func jsonKindName(v string) string {
	switch kind, _, _ := strings.Cut(v, " "); kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	}
	return v
}

// textUnmarshaler is the type of a field written as text (a Duration: "1h").
var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// goKindName names the kind of JSON value a field of Go type t holds.
func goKindName(t reflect.Type) string {
	if t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return goKindName(t.Elem())
	}
	return "another kind of value"
}

// pathAt is the path, as validation writes fields ("when.all[1].path"), of the value
// of data that encoding/json was reading at offset: the end of a scalar, or just past
// the opening bracket or brace of a list or object. "" is the whole document (or no
// value ends there).
func pathAt(data []byte, offset int64) string {
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	// ended moves past a value of the innermost list or object.
	ended := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if k, isKey := tok.(string); isKey {
				stack[n-1].key, stack[n-1].wantKey = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if dec.InputOffset() == offset {
				return path()
			}
			stack = append(stack, frame{object: tok == json.Delim('{'), wantKey: true})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			ended()
		default:
			if dec.InputOffset() == offset {
				return path()
			}
			ended()
		}
	}
}
