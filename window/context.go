package window

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// context is the alert context of the event ev for s's rule (see ContextOf).
func (s *State) context(ev *Event) map[string]json.RawMessage {
	if len(s.r.ContextPaths()) == 0 {
		return nil
	}
	return contextOf(s.r, func(p *jsonpath.Path) jsonpath.Value {
		s.valuesAt(ev, p)
		if len(s.vals) == 0 {
			return jsonpath.Value{}
		}
		return s.vals[0]
	})
}

// ContextOf is the alert context of the event doc for rule r: each alert.context path,
// as the rule spells it, mapped to the first value it selects (null where it selects
// nothing). Values are written in one canonical form — numbers as float64 (-0 as 0;
// from 2^53 to 1e21 with its exact digits, not the shortest ones; beyond float64, or an
// integer float64 does not hold written without fraction or exponent, as written:
// AppendValueKey), strings re-escaped, arrays and objects compacted — so
// that the same event gives the same context whether its values come from its document
// or from the lake's typed columns. Nil when r has no context paths.
func ContextOf(r *rule.Rule, doc *jsonpath.Document) map[string]json.RawMessage {
	if len(r.ContextPaths()) == 0 {
		return nil
	}
	var buf []jsonpath.Value
	return contextOf(r, func(p *jsonpath.Path) jsonpath.Value {
		if buf = p.Eval(doc, buf[:0]); len(buf) == 0 {
			return jsonpath.Value{}
		}
		return buf[0]
	})
}

// UnknownContext is the alert context of a crossing whose event cannot be read: each
// alert.context path mapped to null, as ContextOf maps one that selects nothing, so
// that the alert has the shape of every other alert of r. Nil when r has no context
// paths.
func UnknownContext(r *rule.Rule) map[string]json.RawMessage {
	if len(r.ContextPaths()) == 0 {
		return nil
	}
	return contextOf(r, func(*jsonpath.Path) jsonpath.Value { return jsonpath.Value{} })
}

func contextOf(r *rule.Rule, valueAt func(*jsonpath.Path) jsonpath.Value) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(r.ContextPaths()))
	for i, p := range r.ContextPaths() {
		out[r.Alert.Context[i]] = appendCanonical(nil, valueAt(p))
	}
	return out
}

// appendCanonical appends v in the canonical form ContextJSON describes.
func appendCanonical(b []byte, v jsonpath.Value) []byte {
	switch v.Kind() {
	case jsonpath.KindNull, jsonpath.KindInvalid:
		return append(b, "null"...)
	case jsonpath.KindBool:
		if v.Bool() {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case jsonpath.KindNumber:
		f := v.Num()
		if math.Abs(f) >= 1<<53 && inexactInteger(v.Raw(), f) {
			return append(b, v.Raw()...) // an id's digits, as its group key has them
		}
		if !math.IsInf(f, 0) {
			if f == 0 {
				f = 0 // -0 as 0, as group keys have it
			}
			return appendNumberJSON(b, f) // as its group key is shown
		}
		return append(b, v.Raw()...) // beyond float64 (1e400): the number as written
	case jsonpath.KindString:
		return contract.AppendJSONString(b, v.Str())
	}
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(v.Raw())); err != nil {
		return append(b, "null"...) // a parsed document's value always compacts
	}
	return append(b, out.Bytes()...)
}
