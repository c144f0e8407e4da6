package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestResetInvalidJSON(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		offset int
		msg    string
	}{
		{"empty", ``, 0, "empty document"},
		{"only whitespace", " \n\t", 3, "empty document"},
		{"truncated object", `{"a": 1`, 7, "unexpected end of input, expected ',' or '}'"},
		{"truncated array", `[1, 2`, 5, "expected ',' or ']'"},
		{"truncated after colon", `{"a":`, 5, "expected a value"},
		{"truncated string", `{"a": "bc`, 6, "unterminated string"},
		{"truncated literal", `[tru`, 1, "expected a value"},
		{"trailing garbage", `{"a": 1} x`, 9, "after the top-level value"},
		{"two values", `1 2`, 2, "after the top-level value"},
		{"trailing comma", `[1,]`, 3, "expected a value"},
		{"trailing comma in object", `{"a":1,}`, 7, "expected a member name"},
		{"missing colon", `{"a" 1}`, 5, "expected ':'"},
		{"unquoted key", `{a: 1}`, 1, "expected a member name"},
		{"single quotes", `['a']`, 1, "expected a value"},
		{"mismatched bracket", `[1}`, 2, "expected ',' or ']'"},
		{"bad escape", `["a\x"]`, 3, `invalid escape "\\x"`},
		{"short unicode escape", `["\u12"]`, 2, `invalid \u escape`},
		// Each of the four digits is checked, the last as well.
		{"unicode escape ending in a non-hex digit", `["\u123x"]`, 2, `invalid \u escape`},
		// 0x1f is the highest control byte: refused by the word-at-a-time scan of a long
		// string's middle and by the byte scan of its last bytes alike.
		{"control 0x1f in a long string's words", "[\"0123456789\x1f0123456789abcdef\"]", 12, "control character 0x1f"},
		{"control 0x1f in the last bytes", "[\"a\x1f\"]", 3, "control character 0x1f"},
		{"raw control character", "[\"a\tb\"]", 3, "control character 0x09"},
		{"raw newline", "[\"a\nb\"]", 3, "control character 0x0a"},
		{"leading zero", `[01]`, 2, "expected ',' or ']'"},
		{"bare minus", `[-]`, 2, "invalid number"},
		{"fraction without digits", `[1.]`, 3, "digit expected after '.'"},
		{"exponent without digits", `[1e+]`, 4, "digit expected in exponent"},
		{"capital exponent without digits", `[1E]`, 3, "digit expected in exponent"},
		{"integer followed by a letter", `[12x]`, 3, "unexpected 'x', expected ',' or ']'"},
		{"truncated integer member", `{"a":7`, 6, "unexpected end of input, expected ',' or '}'"},
		{"truncated before colon", `{"a"`, 4, "unexpected end of input, expected ':'"},
		{"member without value", `{"a":}`, 5, "unexpected '}', expected a value"},
		{"second member name unquoted", `{"a":1, b:2}`, 8, "expected a member name"},
		{"plus sign", `[+1]`, 1, "expected a value"},
		{"NaN", `[NaN]`, 1, "expected a value"},
		{"invalid UTF-8 in string", "[\"a\xffb\"]", 3, "invalid UTF-8"},
		{"truncated UTF-8", "[\"\xe2\x82\"]", 2, "invalid UTF-8"},
		{"UTF-8 surrogate", "[\"\xed\xa0\x80\"]", 2, "invalid UTF-8"},
		// ASCII documents skip the UTF-8 check: every place a high byte can hide in one
		// the grammar accepts must still send it there.
		{"invalid UTF-8 in a long string's words", "{\"a\":\"0123456789abcdef\xff0123456789abcdef\"}", 22, "invalid UTF-8"},
		{"invalid UTF-8 in a member name", "{\"abcdefghij\xc3\":1}", 12, "invalid UTF-8"},
		{"invalid UTF-8 past an escape", "[\"\\n\xff\"]", 4, "invalid UTF-8"},
		{"invalid UTF-8 in the last bytes", "[1,\"\xfe\"]", 4, "invalid UTF-8"},
		{"valid UTF-8 beside invalid", "[\"é\",\"中\",\"\xe9\"]", 13, "invalid UTF-8"},
		{"invalid UTF-8 before a grammar error", "[\"\xff\" 1]", 2, "invalid UTF-8"},
		{"invalid UTF-8 after a grammar error", "[1 1, \"\xff\"]", 7, "invalid UTF-8"},
		{"BOM", "\ufeff{}", 0, "unexpected byte 0xef"},
		{"NUL", "{}\x00", 2, "unexpected byte 0x00"},
	}
	d := NewDocument()
	for _, tt := range tests {
		err := d.Reset([]byte(tt.src))
		var je *JSONError
		if !errors.As(err, &je) || !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("%s: Reset(%q) = %v, want a JSONError wrapping ErrInvalidJSON", tt.name, tt.src, err)
			continue
		}
		if je.Offset != tt.offset || !strings.Contains(je.Msg, tt.msg) {
			t.Errorf("%s: Reset(%q) = offset %d %q, want offset %d containing %q", tt.name, tt.src, je.Offset, je.Msg, tt.offset, tt.msg)
		}
		if errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: reported as too deep", tt.name)
		}
		// A failed Reset leaves no document behind: nothing is selected.
		if got := MustParse(`$..*`).Eval(d, nil); len(got) != 0 {
			t.Errorf("%s: Eval after a failed Reset selected %d nodes", tt.name, len(got))
		}
		if json.Valid([]byte(tt.src)) && utf8.ValidString(tt.src) {
			t.Errorf("%s: encoding/json accepts %q: the case is wrong", tt.name, tt.src)
		}
	}
	// Lone surrogate escapes are syntactically valid JSON (RFC 8259 leaves their meaning
	// open); they decode to U+FFFD like encoding/json does.
	if err := d.Reset([]byte(`["\udc00"]`)); err != nil {
		t.Errorf("lone surrogate escape rejected: %v", err)
	}
}

func TestResetValidJSON(t *testing.T) {
	for _, src := range []string{
		`0`, `-0`, `-0.0e-0`, `1E+2`, `"x"`, `true`, `null`, ` [ ] `, `{}`,
		"\t{ \"a\" :\r\n[ 1 , { } , [ ] , \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\" ] }\n",
		`{"a":{"a":{"a":{"a":[[[[[]]]]]}}}}`,
		`["é中😀"]`,
		`{"":""}`,
	} {
		d := NewDocument()
		if err := d.Reset([]byte(src)); err != nil {
			t.Errorf("Reset(%q): %v", src, err)
			continue
		}
		if got := d.Root().Raw(); got != strings.TrimSpace(src) {
			t.Errorf("Root of %q = %q", src, got)
		}
	}
}

func TestDocumentReuse(t *testing.T) {
	// The same Document over different events at different offsets: the lookup
	// memo must never leak a node from the previous event.
	d := NewDocument()
	paths := []*Path{MustParse(`$.a.b`), MustParse(`$.a.c`), MustParse(`$.x`)}
	docs := []string{
		`{"a":{"b":1,"c":2},"x":3}`,
		`{"x":"three","a":{"c":"two","b":"one"}}`,
		`{"zzzzzzzzzzzz":0,"a":{"b":[true]}}`,
		`[{"a":{"b":1}}]`,
	}
	want := [][]string{{`1`, `2`, `3`}, {`"one"`, `"two"`, `"three"`}, {`[true]`}, {}}
	for round := 0; round < 3; round++ {
		for i, src := range docs {
			if err := d.Reset([]byte(src)); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range paths {
				for _, v := range p.Eval(d, nil) {
					got = append(got, v.Raw())
				}
			}
			if strings.Join(got, " ") != strings.Join(want[i], " ") {
				t.Errorf("round %d doc %d: got %v, want %v", round, i, got, want[i])
			}
		}
	}
}

func TestDuplicateMemberNames(t *testing.T) {
	got, err := Query(`$.a`, []byte(`{"a":1,"a":2}`))
	if err != nil || len(got) != 1 || got[0] != 1.0 {
		t.Fatalf("duplicate name: %v %v, want the first member", got, err)
	}
	got, _ = Query(`$.*`, []byte(`{"a":1,"a":2}`))
	if len(got) != 2 {
		t.Fatalf("wildcard over duplicates = %v, want both members", got)
	}
}

func TestEscapedMemberNames(t *testing.T) {
	src := []byte(`{"a\u0062":1,"c\"d":2,"\u00e9":3,"e":4}`)
	for expr, want := range map[string]float64{`$.ab`: 1, `$['c"d']`: 2, `$.é`: 3, `$.e`: 4} {
		got, err := Query(expr, src)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("Query(%s) = %v %v, want %v", expr, got, err, want)
		}
	}
}

func TestMemoAcrossDocuments(t *testing.T) {
	// Objects above memoMinMembers go through the lookup memo: shared prefixes must
	// resolve once per document and never leak into the next one.
	// Members are rotated per document, so a stale memo entry (same parent tape
	// index, same name) would point at another member.
	big := func(shift int, leaf string) string {
		var b strings.Builder
		b.WriteString(`{"pad":[` + strings.Repeat("0,", shift%3) + `0],"obj":{`)
		const members = 3 * memoMinMembers
		for j := 0; j < members; j++ {
			i := (j + shift) % members
			fmt.Fprintf(&b, `"k%d":{"v":%d,"w":"%s"},`, i, i+shift, leaf)
		}
		b.WriteString(`"last":true}}`)
		return b.String()
	}
	paths := []*Path{MustParse(`$.obj.k5.v`), MustParse(`$.obj.k5.w`), MustParse(`$.obj.k20.v`), MustParse(`$.obj.nope`), MustParse(`$.obj['k5','k20'].v`)}
	d := NewDocument()
	for round := 0; round < 50; round++ {
		shift := round * 7 % 13
		if err := d.Reset([]byte(big(shift, fmt.Sprint("r", round)))); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range paths {
			for _, v := range p.Eval(d, nil) {
				got = append(got, v.Raw())
			}
		}
		want := fmt.Sprintf(`%d "r%d" %d %d %d`, 5+shift, round, 20+shift, 5+shift, 20+shift)
		if strings.Join(got, " ") != want {
			t.Fatalf("round %d: got %v, want %s", round, got, want)
		}
	}
}

func TestNameFingerprintCollisions(t *testing.T) {
	// Names with equal length, first and last bytes share a fingerprint; the rest
	// must still tell them apart, including keys that end the buffer, where the
	// word-sized comparison cannot read ahead.
	src := `{"axxa":1,"abba":2,"abcdefgh":3,"abcdXfgh":4,"x":{"axxa":5,"abba":6,"q":{"ab":7,"aa":8}}}`
	for expr, want := range map[string]float64{
		`$.abba`: 2, `$.axxa`: 1, `$.abcdefgh`: 3, `$.abcdXfgh`: 4,
		`$.x.abba`: 6, `$.x.axxa`: 5, `$.x.q.aa`: 8, `$.x.q.ab`: 7,
	} {
		got, err := Query(expr, []byte(src))
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("Query(%s) = %v %v, want %v", expr, got, err, want)
		}
	}
	for _, expr := range []string{`$.abca`, `$.abcdeXgh`, `$.x.q.ac`, `$.x.q.a`} {
		if got, _ := Query(expr, []byte(src)); len(got) != 0 {
			t.Errorf("Query(%s) = %v, want nothing", expr, got)
		}
	}
}

// TestReleaseDropsWhatOneLargeDocumentGrew: a Document kept for long (one per
// partition) keeps its index for ordinary documents, so that a stream of them
// allocates nothing, but not the index a single large one grew, nor any document's
// bytes.
func TestReleaseDropsWhatOneLargeDocumentGrew(t *testing.T) {
	d := NewDocument()
	small := []byte(`{"type":"login","actor":{"id":"u1","roles":["admin","dev"]},"n":[1,2,3]}`)
	if err := d.Reset(small); err != nil {
		t.Fatal(err)
	}
	d.Release()
	kept := cap(d.nodes)
	if kept == 0 || d.Raw() != "" || d.buf != nil {
		t.Fatalf("after an ordinary document: index capacity %d (want kept), raw %q, buf %v (want none)", kept, d.Raw(), d.buf)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		_ = d.Reset(small)
		d.Release()
	}); allocs != 0 {
		t.Errorf("an ordinary document after Release allocates %v times", allocs)
	}
	big := []byte("[" + strings.Repeat(`{"k":0},`, 100_000) + "0]")
	if err := d.Reset(big); err != nil {
		t.Fatal(err)
	}
	if grown := cap(d.nodes); grown < 200_000 {
		t.Fatalf("a document of 300,001 values grew the index to %d only", grown)
	}
	d.Release()
	if cap(d.nodes) > keptNodes || cap(d.rootKeys) > keptNodes || d.Raw() != "" {
		t.Errorf("after a large document, Release kept an index of %d, root keys of %d, raw of %d bytes; want at most %d, and none",
			cap(d.nodes), cap(d.rootKeys), len(d.Raw()), keptNodes)
	}
	if err := d.Reset(small); err != nil || d.Root().Kind() != KindObject {
		t.Fatalf("the next document after a release: %v", err)
	}
}
