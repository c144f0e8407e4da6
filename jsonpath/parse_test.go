package jsonpath

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSyntaxErrorPositions(t *testing.T) {
	tests := []struct {
		expr string
		col  int    // 1-based column of the offending character
		msg  string // substring of the message
	}{
		{`$.a[1,]`, 7, "unexpected ']'"},
		{` $`, 1, "unexpected space"},
		{`$ `, 2, "unexpected space"},
		{`a.b`, 1, "expected '$'"},
		{``, 1, "unexpected end"},
		{`$.`, 3, "unexpected end"},
		{`$..`, 4, "unexpected end"},
		{`$. a`, 3, "unexpected space"},
		{`$.1a`, 3, "unexpected '1'"},
		{`$[01]`, 3, "leading zero"},
		{`$[-0]`, 3, "-0"},
		{`$[9007199254740992]`, 3, "out of range"},
		{`$[1`, 4, "unexpected end"},
		{`$['a`, 3, "unterminated"},
		{`$["a\'"]`, 5, `invalid escape \'`},
		{`$['\uD800']`, 4, "surrogate"},
		{`$['\uDC00']`, 4, "surrogate"},
		// The ends of the surrogate ranges: U+DFFF is as lone a low surrogate as
		// U+DC00, and U+E000 past the range pairs with nothing (TestEdgeQueries has
		// \uDBFF\uDFFF, a pair).
		{`$['\uDFFF']`, 4, "lone low surrogate"},
		{`$['\uDBFF\uE000']`, 4, "without a low surrogate"},
		{`$['a	']`, 5, "control character"},
		{`$[?@.a == 1 == 2]`, 13, "unexpected '='"},
		{`$[?@.* == 1]`, 4, "non-singular query"},
		{`$[?@..a == 1]`, 4, "non-singular query"},
		{`$[?1]`, 4, "literal must be compared"},
		{`$[?true]`, 4, "literal must be compared"},
		{`$[?length(@.a)]`, 4, "returns a value"},
		{`$[?count(@.a) == 1 && count(1) == 1]`, 29, "argument 1 of count()"},
		{`$[?length(@.*) == 1]`, 11, "argument 1 of length()"},
		{`$[?match(@.a) == 1]`, 4, "takes 2 argument"},
		{`$[?nosuch(@.a)]`, 4, "unknown function"},
		{`$[?foo]`, 4, "unknown name"},
		{`$[?(@.a == 1]`, 13, "expected ')'"},
		{`$[?!@.a == 1]`, 9, "unexpected '='"},
		{`$[?@.a === 1]`, 10, "unexpected '='"},
		{`$[?@.a = 1]`, 8, "unexpected '='"},
		{`$[?@.a == 01]`, 11, "leading zero"},
		{`$[?@.a == 1.]`, 13, "digit after '.'"},
		{`$[?@.a == 'x' || 'y']`, 18, "literal must be compared"},
		{"$['a'\xff]", 6, "invalid UTF-8"},
		{`$[?(@.a)== 1]`, 9, "unexpected '='"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, %v; want a *SyntaxError", tt.expr, p, err)
			continue
		}
		if se.Column() != tt.col || se.Offset != tt.col-1 || !strings.Contains(se.Msg, tt.msg) || se.Expr != tt.expr {
			t.Errorf("Parse(%q): column %d, msg %q; want column %d, msg containing %q", tt.expr, se.Column(), se.Msg, tt.col, tt.msg)
		}
	}
	_, err := Parse(`$.a[1,]`)
	if want := `jsonpath: unexpected ']', expected a selector at column 7 in "$.a[1,]"`; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %s", err, want)
	}
}

func TestCanonicalString(t *testing.T) {
	groups := [][]string{
		{`$.a`, `$['a']`, `$["a"]`, `$[ 'a' ]`, `$ .a`},
		{`$.a€b`, `$['a€b']`}, // non-ASCII characters are valid in shorthand names
		{`$.*`, `$[*]`},
		{`$..a`, `$..['a']`},
		{`$..*`, `$..[*]`},
		{`$[1:3]`, `$[1:3:1]`, `$[ 1 : 3 ]`},
		{`$["\u0041\n'"]`, `$['A\n\'']`},
		{`$.store.book[?(@.category == 'fiction')].price`, `$.store.book[?@.category=="fiction"].price`, `$['store']['book'][?(@['category'] == 'fiction')]['price']`},
		{`$[?@.a == 1 && (@.b || !@.c)]`, `$[?(@.a==1.0)&&(@.b||(!@.c))]`},
		{`$[?!(@.a == 1)]`, `$[?!(@['a']==1)]`},
		{`$[?match(@.a, 'x.*') || count(@.*) > 2]`, `$[?match(@['a'],"x.*")||count(@[*])>2]`},
	}
	for _, g := range groups {
		want := MustParse(g[0]).String()
		for _, e := range g[1:] {
			if got := MustParse(e).String(); got != want {
				t.Errorf("String(%s) = %s, want %s (as for %s)", e, got, want, g[0])
			}
		}
		again, err := Parse(want)
		if err != nil || again.String() != want {
			t.Errorf("canonical %s does not reparse to itself: %v", want, err)
		}
	}
	if got := MustParse(`$.a`).String(); got != `$['a']` {
		t.Errorf("String($.a) = %s", got)
	}
	if s := MustParse(` $`[1:]).Source(); s != `$` {
		t.Errorf("Source = %q", s)
	}
	// Different queries must not collide.
	if MustParse(`$.a.b`).String() == MustParse(`$['a.b']`).String() {
		t.Error("$.a.b and $['a.b'] share a canonical form")
	}
}

func TestSingularAndSegments(t *testing.T) {
	tests := []struct {
		expr     string
		singular bool
	}{
		{`$`, true},
		{`$.a[0]['b'][-1]`, true},
		{`$.a[*]`, false},
		{`$..a`, false},
		{`$['a','b']`, false},
		{`$[0:1]`, false},
		{`$[?@.a]`, false},
	}
	for _, tt := range tests {
		if got := MustParse(tt.expr).Singular(); got != tt.singular {
			t.Errorf("Singular(%s) = %v", tt.expr, got)
		}
	}
	p := MustParse(`$.a..[1, 'b', *, 2:-1:2, ?@.x > 1]`)
	segs := p.Segments()
	if len(segs) != 2 || segs[0].Descendant || !segs[1].Descendant || len(segs[1].Selectors) != 5 {
		t.Fatalf("Segments = %+v", segs)
	}
	s := segs[1].Selectors
	if s[0].Kind != IndexSel || s[0].Index != 1 || s[1].Kind != NameSel || s[1].Name != "b" || s[2].Kind != WildcardSel {
		t.Errorf("selectors = %+v", s[:3])
	}
	if s[3].Kind != SliceSel || *s[3].Slice[0] != 2 || *s[3].Slice[1] != -1 || *s[3].Slice[2] != 2 {
		t.Errorf("slice = %+v", s[3])
	}
	f := s[4].Filter
	if s[4].Kind != FilterSel || f.Kind != ExprCompare || f.Op != OpGt || f.Args[0].Kind != ExprQuery ||
		!f.Args[0].Query.Relative() || f.Args[0].Query.String() != `@['x']` || f.Args[1].Literal.Num() != 1 {
		t.Errorf("filter = %+v", f)
	}
	if segs[0].Selectors[0].Name != "a" {
		t.Errorf("first segment = %+v", segs[0])
	}
	if got := MustParse(`$[:]`).Segments()[0].Selectors[0].Slice; !reflect.DeepEqual(got, [3]*int{}) {
		t.Errorf("omitted slice bounds = %v, want all nil", got)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("MustParse of an invalid path did not panic")
		}
	}()
	MustParse(`$[`)
}
