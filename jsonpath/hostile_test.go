package jsonpath

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func nested(open, close string, depth int, inner string) []byte {
	return []byte(strings.Repeat(open, depth) + inner + strings.Repeat(close, depth))
}

func TestDeepDocumentIsRejected(t *testing.T) {
	d := NewDocument()
	for _, tt := range []struct {
		name   string
		doc    []byte
		offset int // of the first bracket beyond MaxDepth
	}{
		{"10,000 nested arrays", nested("[", "]", 10_000, ""), MaxDepth},
		{"10,000 nested objects", nested(`{"a":`, "}", 10_000, "1"), MaxDepth * len(`{"a":`)},
		{"unterminated nesting", []byte(strings.Repeat("[", 10_000)), MaxDepth},
		{"one level too deep", nested("[", "]", MaxDepth+1, ""), MaxDepth},
	} {
		err := d.Reset(tt.doc)
		var je *JSONError
		if !errors.Is(err, ErrTooDeep) || !errors.Is(err, ErrInvalidJSON) || !errors.As(err, &je) {
			t.Errorf("%s: Reset = %v, want ErrTooDeep", tt.name, err)
			continue
		}
		if je.Offset != tt.offset {
			t.Errorf("%s: offset %d, want %d", tt.name, je.Offset, tt.offset)
		}
	}
	// Exactly MaxDepth levels are accepted and fully usable.
	doc := nested("[", "]", MaxDepth, "7")
	if err := d.Reset(doc); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth, err)
	}
	all := MustParse(`$..*`).Eval(d, nil)
	if len(all) != MaxDepth { // MaxDepth-1 inner arrays and the 7
		t.Fatalf("$..* selected %d nodes, want %d", len(all), MaxDepth)
	}
	if all[len(all)-1].Raw() != "7" {
		t.Fatalf("deepest node = %s", all[len(all)-1].Raw())
	}
	root := d.Root()
	if !Equal(root, root) || root.Interface() == nil {
		t.Fatal("deep value did not compare or decode")
	}
	deepPath := "$" + strings.Repeat("[0]", MaxDepth)
	if got := MustParse(deepPath).Eval(d, nil); len(got) != 1 || got[0].Raw() != "7" {
		t.Fatalf("%d-segment index path = %v", MaxDepth, got)
	}
}

func TestLargeDocument(t *testing.T) {
	// About 10 MB: an array of audit-like events.
	var b bytes.Buffer
	b.WriteByte('[')
	n := 0
	for b.Len() < 10<<20 {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"type":"login.failed","actor":{"roles":["admin","member"],"geo":{"country":"DE"}},"note":"%s"}`,
			n, strings.Repeat("x", n%200))
		n++
	}
	b.WriteByte(']')
	d := NewDocument()
	if err := d.Reset(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want int
	}{
		{`$[*].type`, n},
		{`$..country`, n},
		{`$[-1].id`, 1},
		{`$[::-1000].id`, (n + 999) / 1000},
		{`$[?@.id < 10].id`, 10},
		{`$..[?@ == 'admin']`, n},
		{`$..*`, 0}, // counted below
	}
	for _, tt := range tests {
		got, err := MustParse(tt.expr).EvalChecked(d, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if tt.want != 0 && len(got) != tt.want {
			t.Errorf("%s selected %d nodes, want %d", tt.expr, len(got), tt.want)
		}
		if tt.expr == `$..*` && len(got) != 10*n {
			t.Errorf("$..* selected %d nodes, want %d", len(got), 10*n)
		}
	}
	if got := MustParse(`$[-1].id`).Eval(d, nil); got[0].Num() != float64(n-1) {
		t.Errorf("last id = %s, want %d", got[0].Raw(), n-1)
	}
}

func TestLongPaths(t *testing.T) {
	// A path of 1,000 name segments over a document nested as deep.
	doc := nested(`{"a":`, "}", MaxDepth-1, `{"end":true}`)
	d := NewDocument()
	if err := d.Reset(doc); err != nil {
		t.Fatal(err)
	}
	long := "$" + strings.Repeat(".a", MaxDepth-1) + ".end"
	p := MustParse(long)
	if len(p.Segments()) != MaxDepth || !p.Singular() {
		t.Fatalf("%d segments, singular %v", len(p.Segments()), p.Singular())
	}
	if got := p.Eval(d, nil); len(got) != 1 || !got[0].Bool() {
		t.Fatalf("1,000-segment path = %v", got)
	}
	if again := MustParse(p.String()); again.String() != p.String() {
		t.Fatal("long canonical form does not round-trip")
	}

	// 1,000 descendant segments multiply: the work budget must end the evaluation.
	explode := MustParse("$" + strings.Repeat("..a", 1000))
	got, err := explode.EvalChecked(d, nil)
	if !errors.Is(err, ErrEvalLimit) || !d.Limited() {
		t.Fatalf("exponential query: %d nodes, err %v; want ErrEvalLimit", len(got), err)
	}
	// And the Document stays usable.
	if got := p.Eval(d, nil); len(got) != 1 || d.Limited() {
		t.Fatal("Document unusable after a budget stop")
	}

	// Nested filters over every node: quadratic, also stopped by the budget or done.
	quad := MustParse(`$..[?@..[?@.end]]`)
	if _, err := quad.EvalChecked(d, nil); err != nil && !errors.Is(err, ErrEvalLimit) {
		t.Fatal(err)
	}
}

func TestDeepFilterNesting(t *testing.T) {
	ok := func(depth int, open, close string) string {
		return "$[?" + strings.Repeat(open, depth) + "@.a" + strings.Repeat(close, depth) + "]"
	}
	for _, tt := range []struct {
		name        string
		open, close string
	}{
		{"parentheses", "(", ")"},
		{"negations", "!(", ")"},
		{"functions", "length(", ")==1 && ("}, // not well-formed when deep; rejected either way
		{"nested filters", "@[?", "]"},
	} {
		expr := ok(10_000, tt.open, tt.close)
		_, err := Parse(expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: Parse of 10,000 levels = %v, want a SyntaxError", tt.name, err)
			continue
		}
		if tt.name != "functions" && !strings.Contains(se.Msg, "deeper than") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// The filter and its query take two levels: MaxFilterDepth-2 parentheses fit,
	// one more does not.
	if _, err := Parse(ok(MaxFilterDepth-2, "(", ")")); err != nil {
		t.Errorf("%d parentheses rejected: %v", MaxFilterDepth-2, err)
	}
	var se *SyntaxError
	if _, err := Parse(ok(MaxFilterDepth-1, "(", ")")); !errors.As(err, &se) || !strings.Contains(se.Msg, "deeper than") {
		t.Errorf("%d parentheses: %v, want a depth SyntaxError", MaxFilterDepth-1, err)
	}
	// Deep nested function calls within the limit work and evaluate.
	expr := "$[?" + strings.Repeat("length(", 1) + "@.a" + strings.Repeat(")", 1) + " == 3]"
	got, err := Query(expr, []byte(`[{"a":"abc"},{"a":[1]}]`))
	if err != nil || len(got) != 1 {
		t.Fatalf("%s = %v, %v", expr, got, err)
	}
	// Very long flat filters are not nested: 2,000 alternatives parse.
	flat := "$[?" + strings.Repeat("@.a == 1 || ", 2000) + "@.a == 2]"
	if _, err := Parse(flat); err != nil {
		t.Fatalf("flat 2,001-way ||: %v", err)
	}
}

func TestHugeIndexesAndSlices(t *testing.T) {
	src := []byte(`[0,1,2,3,4,5,6,7,8,9]`)
	for expr, want := range map[string]string{
		`$[9007199254740991]`:                      ``,
		`$[-9007199254740991]`:                     ``,
		`$[9007199254740991:]`:                     ``,
		`$[:-9007199254740991]`:                    ``,
		`$[::9007199254740991]`:                    `0`,
		`$[::-9007199254740991]`:                   `9`,
		`$[-9007199254740991:9007199254740991:3]`:  `0 3 6 9`,
		`$[9007199254740991:-9007199254740991:-4]`: `9 5 1`,
		`$[::0]`: ``,
	} {
		got, err := Query(expr, src)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		var s []string
		for _, v := range got {
			s = append(s, fmt.Sprint(v))
		}
		if strings.Join(s, " ") != want {
			t.Errorf("%s = %v, want %s", expr, s, want)
		}
	}
}

func TestDeepAndWideEquality(t *testing.T) {
	// Deep structures that are equal but spelled differently: comparison must not
	// rescan nested text once per level (that would be quadratic in depth).
	deepA := nested("[", "]", MaxDepth-2, "1")
	deepB := nested("[ ", " ]", MaxDepth-2, "1.0")
	doc := fmt.Sprintf(`[{"a":%s,"b":%s}]`, deepA, deepB)
	got, err := Query(`$[?@.a == @.b]`, []byte(doc))
	if err != nil || len(got) != 1 {
		t.Fatalf("deep equal values compared unequal: %v %v", len(got), err)
	}
	// Wide objects with members in opposite orders.
	var a, b strings.Builder
	const members = 100_000
	a.WriteByte('{')
	b.WriteByte('{')
	for i := 0; i < members; i++ {
		if i > 0 {
			a.WriteByte(',')
			b.WriteByte(',')
		}
		fmt.Fprintf(&a, `"k%d":%d`, i, i)
		fmt.Fprintf(&b, `"k%d":%d`, members-1-i, members-1-i)
	}
	a.WriteByte('}')
	b.WriteByte('}')
	wide := fmt.Sprintf(`[{"a":%s,"b":%s}]`, a.String(), b.String())
	if got, err := Query(`$[?@.a == @.b]`, []byte(wide)); err != nil || len(got) != 1 {
		t.Fatalf("wide equal objects compared unequal: %v %v", len(got), err)
	}
	if got, _ := Query(`$[?@.a != @.b]`, []byte(strings.Replace(wide, `"k7":7`, `"k7":8`, 1))); len(got) != 1 {
		t.Fatal("a changed member went unnoticed")
	}
}
