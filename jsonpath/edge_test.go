package jsonpath

import (
	"encoding/json"
	"testing"
)

// TestEdgeQueries holds queries at the edges of the evaluator's own logic (its fast
// paths, its index, its parser's ranges) rather than of RFC 9535, each of which a small
// change to that logic once got past every other test.
func TestEdgeQueries(t *testing.T) {
	// The padding keeps the arrays away from the end of the document, where a key
	// comparison that should never run would read past the buffer and panic instead of
	// selecting a wrong node.
	const pad = `,"padding":"xxxxxxxxxxxxxxxxxxxxxxxx"}`
	tests := []struct {
		doc, expr string
		want      string // JSON of the selected values
	}{
		// A name selector selects nothing from an array, even the name '' whose
		// fingerprint (0) is what the index holds for an array's plain elements: the
		// simple path's walk (evalSimple) and a filter's singular query (step) must
		// both check the kind before looking the name up.
		{`{"a":[1,2]` + pad, `$.a['']`, `[]`},
		{`{"a":[[5],7]` + pad, `$.a[?@[''] == 7]`, `[]`},
		{`{"a":[[5],7]` + pad, `$.a[?@['']]`, `[]`},
		{`{"a":{"":7}` + pad, `$.a['']`, `[7]`},
		// count() and value() of a singular query that resolves to the root: the
		// root's index is 0, which is found, not missing.
		{`{"a":[1,2]` + pad, `$.a[?count($) == 1]`, `[1,2]`},
		{`{"a":[1,2]` + pad, `$.a[?count(@) == 1]`, `[1,2]`},
		// A negative step's start before the array's start clamps to -1 (RFC 9535
		// 2.3.4.2.2): nothing, not the first element.
		{`{"a":[1,2,3]` + pad, `$.a[-10::-1]`, `[]`},
		{`{"a":[1,2,3]` + pad, `$.a[-3::-1]`, `[1]`},
		{`{"a":[1,2,3]` + pad, `$.a[5:-10:-2]`, `[3,1]`},
		// \uDBFF\uDFFF is the last surrogate pair, U+10FFFF.
		{`{"\udbff\udfff":1,"\udbff\udffe":2}`, `$['\uDBFF\uDFFF']`, `[1]`},
		{`{"\udbff\udfff":1,"\udbff\udffe":2}`, `$["\uDBFF\uDFFE"]`, `[2]`},
	}
	d := NewDocument()
	for _, tt := range tests {
		if err := d.Reset([]byte(tt.doc)); err != nil {
			t.Fatalf("Reset(%s): %v", tt.doc, err)
		}
		p, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.expr, err)
			continue
		}
		var got []any
		for _, v := range p.Eval(d, nil) {
			got = append(got, v.Interface())
		}
		if got == nil {
			got = []any{}
		}
		b, _ := json.Marshal(got)
		if string(b) != tt.want {
			t.Errorf("%s on %s = %s, want %s", tt.expr, tt.doc, b, tt.want)
		}
	}
}
