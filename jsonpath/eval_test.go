package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// store is the example document of Goessner's JSONPath article and RFC 9535.
const store = `{ "store": {
    "book": [
      { "category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95 },
      { "category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99 },
      { "category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99 },
      { "category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99 }
    ],
    "bicycle": { "color": "red", "price": 399 }
  } }`

func TestStoreQueries(t *testing.T) {
	tests := []struct {
		expr string
		want string // JSON of the result list
	}{
		// Spellings Jayway users paste: all valid RFC 9535.
		{`$.store.book[?(@.category == 'fiction')].price`, `[12.99,8.99,22.99]`},
		{`$.store.book[?(@.price < 10 && @.category == 'fiction')].title`, `["Moby Dick"]`},
		{`$.store.book[?(@.price > 20 || @.author == 'Nigel Rees')].price`, `[8.95,22.99]`},
		{`$.store.book[?(!(@.price > 10))].price`, `[8.95,8.99]`},
		{`$.store.book[?(!@.isbn)].title`, `["Sayings of the Century","Sword of Honour"]`},
		{`$.store.book[?(@.isbn)].title`, `["Moby Dick","The Lord of the Rings"]`},
		{`$..book[-1:].author`, `["J. R. R. Tolkien"]`},
		{`$..book[0,1].price`, `[8.95,12.99]`},
		{`$..book[:2].price`, `[8.95,12.99]`},
		{`$.store..price`, `[8.95,12.99,8.99,22.99,399]`},
		{`$.store.*.color`, `["red"]`},
		{`$..author`, `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{`$..book[?@.price == $.store.bicycle.price]`, `[]`},
		{`$..book[?@.price < $.store.bicycle.price && match(@.author, '.*R.*')].title`, `["Sayings of the Century","The Lord of the Rings"]`},
		{`$..book[?search(@.title, 'of')].title`, `["Sayings of the Century","Sword of Honour","The Lord of the Rings"]`},
		{`$.store[?length(@) == 4][0].author`, `["Nigel Rees"]`},
		{`$.store[?length(@) == 2].color`, `["red"]`},
		{`$.store.book[?length(@.title) == 9].title`, `["Moby Dick"]`},
		{`$.store[?count(@.*) == 2].color`, `["red"]`},
		{`$.store.book[?value(@..isbn) == '0-553-21311-3'].title`, `["Moby Dick"]`},
		{`$.store.book[?@.price == 8.95].title`, `["Sayings of the Century"]`},
		{`$.store.book[?@.price == '8.95'].title`, `[]`},
		{`$.store.book[?@.missing == @.alsoMissing].price`, `[8.95,12.99,8.99,22.99]`},
		{`$.store.book[?@.missing < 1].price`, `[]`},
		{`$.store.bicycle[?@ == 'red']`, `["red"]`},
		{`$.store.book[1]['title','price']`, `["Sword of Honour",12.99]`},
		{`$.nothing.here`, `[]`},
	}
	d := NewDocument()
	if err := d.Reset([]byte(store)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		p, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.expr, err)
			continue
		}
		var got []any
		for _, v := range p.Eval(d, nil) {
			got = append(got, v.Interface())
		}
		var want []any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", tt.expr, got, want)
		}
	}
}

func TestEvalAppendsWithoutAllocating(t *testing.T) {
	d := NewDocument()
	if err := d.Reset([]byte(store)); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		`$.store.bicycle.color`,
		`$.store.book[*]`,
		`$.store.book[-1].price`,
		`$..price`,
		`$.store.book[?(@.category == 'fiction' && @.price < 20)].title`,
		`$.store.book[?count(@.*) > 4 && length(@.title) > 3]`,
		`$.store.book[::-1].title`,
		`$.store.book[?match(@.author, 'H.*')].title`,
	} {
		p := MustParse(expr)
		dst := make([]Value, 0, 16)
		p.Eval(d, dst) // warm the buffer free list
		allocs := testing.AllocsPerRun(100, func() { dst = p.Eval(d, dst[:0]) })
		if allocs != 0 && !raceEnabled {
			t.Errorf("%s: %.1f allocations per Eval, want 0", expr, allocs)
		}
		if len(dst) == 0 {
			t.Errorf("%s selected nothing", expr)
		}
	}
	// And Reset of a document that fits the buffers allocates nothing either.
	data := []byte(store)
	if allocs := testing.AllocsPerRun(100, func() { _ = d.Reset(data) }); allocs != 0 {
		t.Errorf("Reset: %.1f allocations, want 0", allocs)
	}
}

func TestValueReadersDoNotAllocate(t *testing.T) {
	// The rule engine reads selected values on every event.
	d := NewDocument()
	if err := d.Reset([]byte(`{"tags":["sso","mfa","scim"],"score":42.5,"name":"plain"}`)); err != nil {
		t.Fatal(err)
	}
	tags := MustParse(`$.tags`).Eval(d, nil)[0]
	score := MustParse(`$.score`).Eval(d, nil)[0]
	name := MustParse(`$.name`).Eval(d, nil)[0]
	want := MustValueOf("scim")
	limit := MustValueOf(40)
	allocs := testing.AllocsPerRun(100, func() {
		found := false
		tags.Elems(func(e Value) bool { found = Equal(e, want); return !found })
		if !found || score.Num() != 42.5 || name.Str() != "plain" || tags.Len() != 3 {
			t.Fatal("wrong values")
		}
		if c, ok := Compare(score, limit); !ok || c != 1 {
			t.Fatal("wrong comparison")
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per read, want 0", allocs)
	}
}

func TestConcurrentPaths(t *testing.T) {
	// Paths are shared by every worker; each worker has its own Document.
	paths := []*Path{
		MustParse(`$.store.book[?match(@.author, $.pattern)].title`),
		MustParse(`$..price`),
		MustParse(`$.store.book[0].title`),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			d := NewDocument()
			doc := fmt.Sprintf(`{"pattern": "%s.*", %s`, []string{"E", "H", "J", "N"}[w%4], store[1:])
			if err := d.Reset([]byte(doc)); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 200; i++ {
				if got := paths[0].Eval(d, nil); len(got) != 1 {
					errs <- fmt.Errorf("worker %d: dynamic regex selected %d", w, len(got))
					return
				}
				if got := paths[1].Eval(d, nil); len(got) != 5 {
					errs <- fmt.Errorf("worker %d: $..price selected %d", w, len(got))
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestQuery(t *testing.T) {
	got, err := Query(`$.a[*]`, []byte(`{"a":[1,"x",null,{"b":true}]}`))
	want := []any{1.0, "x", nil, map[string]any{"b": true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Query = %v, %v", got, err)
	}
	if got, err := Query(`$.missing`, []byte(`{}`)); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty result = %#v, %v; want an empty non-nil list (prints as [])", got, err)
	}
	var se *SyntaxError
	if _, err := Query(`$[`, []byte(`{}`)); !errors.As(err, &se) {
		t.Fatalf("bad path: %v", err)
	}
	if _, err := Query(`$`, []byte(`{`)); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("bad document: %v", err)
	}
}

func TestNilAndEmptyDocument(t *testing.T) {
	p := MustParse(`$..*`)
	if got := p.Eval(nil, nil); len(got) != 0 {
		t.Fatal("nil Document selected nodes")
	}
	if got := p.Eval(NewDocument(), nil); len(got) != 0 {
		t.Fatal("empty Document selected nodes")
	}
	if NewDocument().Root().Kind() != KindInvalid {
		t.Fatal("empty Document has a root")
	}
}

func TestIRegexpTranslation(t *testing.T) {
	tests := []struct {
		pattern string
		input   string
		match   bool // full match
		search  bool
	}{
		{`a.c`, "abc", true, true},
		{`a.c`, "a\nc", false, false},
		{`a.c`, "a\rc", false, false},
		{`a.c`, "a\u2028c", true, true},
		{`.`, "😀", true, true}, // one code point, not one byte
		{`\p{Lu}+`, "ÀB", true, true},
		{`\P{Lu}`, "a", true, true},
		{`[^a]`, "\n", true, true}, // only '.' excludes line ends
		{`a|b`, "b", true, true},
		{`(ab)+`, "abab", true, true},
		{`x{2,3}`, "xxxx", false, true},
		{`[a-c-]+`, "a-c", true, true},
		{`\.\^\$`, ".^$", true, true},
		{`^ab$`, "ab", true, true},
		{`b`, "abc", false, true},
		{`\d`, "1", false, false},    // \d is not I-Regexp: invalid pattern, false
		{`(?i)a`, "a", false, false}, // neither are flags
		{`a{1001}`, "a", false, false},
		{`[`, "[", false, false},
		{`a**`, "a", false, false},
		{`\p{Cn}`, "a", false, false},
		{`\p{Cn}`, "\uffff", true, true}, // a noncharacter: unassigned
		{`\p{Cs}`, "a", false, false},    // not an I-Regexp category: invalid, false
		{`[+--]`, "+", false, false},     // a range cannot end at an unescaped '-'
		{`[+-\-]`, ",", true, true},
		{`[--a]`, "-", false, false},
	}
	for _, tt := range tests {
		for fn, want := range map[string]bool{"match": tt.match, "search": tt.search} {
			q := fmt.Sprintf(`$[?%s(@, %s)]`, fn, quoteName(tt.pattern))
			doc, _ := json.Marshal([]string{tt.input})
			got, err := Query(q, doc)
			if err != nil {
				t.Errorf("%s: %v", q, err)
				continue
			}
			if (len(got) == 1) != want {
				t.Errorf("%s over %q: %v, want %v", q, tt.input, len(got) == 1, want)
			}
		}
	}
}

func quoteName(s string) string {
	var b []byte
	b = append(b, '\'')
	for _, r := range s {
		switch r {
		case '\'', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '\''))
}
