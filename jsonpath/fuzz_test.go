package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func addCTSSeeds(f *testing.F, withDoc bool) {
	for _, c := range loadCTS(f) {
		if withDoc {
			doc := []byte(c.Document)
			if len(doc) == 0 {
				doc = []byte(`{"a":[1,{"b":"x"}]}`)
			}
			f.Add(c.Selector, doc)
		} else {
			f.Add(c.Selector)
		}
	}
}

// FuzzParse: Parse never panics; errors are positioned SyntaxErrors; an accepted
// path's canonical form parses back to itself and selects the same nodes.
func FuzzParse(f *testing.F) {
	addCTSSeeds(f, false)
	for _, s := range []string{
		`$[?(@.category == 'fiction')].price`, "$" + strings.Repeat("[?(", 40), `$[?match(@, '[\p{L}-]+$')]`,
		`$['\uD83D\uDE00']`, `$[?count(@..*) > length(value($..a))]`, `$[1:-1:2,'a',*,?!@.b||@.c&&@.d]`,
	} {
		f.Add(s)
	}
	d := NewDocument()
	if err := d.Reset([]byte(store)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", expr, err)
			}
			if se.Offset < 0 || se.Offset > len(expr) || se.Expr != expr || se.Msg == "" {
				t.Fatalf("Parse(%q): bad position %d of %d: %v", expr, se.Offset, len(expr), err)
			}
			return
		}
		canon := p.String()
		q, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, expr, err)
		}
		if q.String() != canon || q.Singular() != p.Singular() || len(q.Segments()) != len(p.Segments()) {
			t.Fatalf("canonical form %q of %q is not a fixed point: %q", canon, expr, q.String())
		}
		a, errA := p.EvalChecked(d, nil)
		b, errB := q.EvalChecked(d, nil)
		if errA == nil && errB == nil && !sameValues(a, b) {
			t.Fatalf("%q and its canonical form %q select differently", expr, canon)
		}
	})
}

// FuzzEval: Reset and Eval never panic; Reset accepts exactly the valid documents
// (encoding/json as the oracle, plus UTF-8 and the depth limit); results do not
// depend on the document's whitespace.
func FuzzEval(f *testing.F) {
	addCTSSeeds(f, true)
	f.Add(`$..*`, nested("[", "]", 2000, ""))
	f.Add(`$..a..a..a`, nested(`{"a":`, "}", 200, "1"))
	f.Add(`$.a`, []byte("{\"a\":\"\xff\"}"))
	f.Add(`$[?@ == "\u00e9"]`, []byte(`["\u00e9","é","\u00E9"]`))
	d, d2 := NewDocument(), NewDocument()
	f.Fuzz(func(t *testing.T, expr string, doc []byte) {
		err := d.Reset(doc)
		valid := json.Valid(doc) && utf8.Valid(doc)
		if err != nil {
			var je *JSONError
			if !errors.As(err, &je) || !errors.Is(err, ErrInvalidJSON) || je.Offset < 0 || je.Offset > len(doc) {
				t.Fatalf("Reset error %v is not a positioned JSONError", err)
			}
			if valid && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("Reset rejected a valid document: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("Reset accepted an invalid document %q", doc)
		}
		p, err := Parse(expr)
		if err != nil {
			return
		}
		vals, errA := p.EvalChecked(d, nil)
		// Descendant queries can select millions of overlapping nodes; checking a
		// prefix keeps each input fast without weakening what is checked.
		const checked = 64
		for _, v := range vals[:min(len(vals), checked)] {
			if !json.Valid([]byte(v.Raw())) {
				t.Fatalf("selected node %q is not JSON", v.Raw())
			}
			if v.Kind() == KindInvalid {
				t.Fatal("selected a zero Value")
			}
			_ = v.Interface()
			_ = v.Len()
			if !Equal(v, v) {
				t.Fatalf("node %s is not equal to itself", v.Raw())
			}
			if v.Kind() == KindNumber {
				if want, _ := strconv.ParseFloat(v.Raw(), 64); v.Num() != want {
					t.Fatalf("Num(%s) = %v, strconv says %v", v.Raw(), v.Num(), want)
				}
			}
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, doc, " ", "\t"); err != nil {
			t.Fatalf("encoding/json cannot indent an accepted document: %v", err)
		}
		if err := d2.Reset(pretty.Bytes()); err != nil {
			t.Fatalf("indented document rejected: %v", err)
		}
		other, errB := p.EvalChecked(d2, nil)
		if errA == nil && errB == nil && (len(vals) != len(other) ||
			!sameValues(vals[:min(len(vals), checked)], other[:min(len(other), checked)])) {
			t.Fatalf("%s selects differently once the document is indented", expr)
		}
	})
}

func sameValues(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) && !reflect.DeepEqual(a[i].Interface(), b[i].Interface()) {
			return false
		}
	}
	return true
}
