package shown_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/shown"
)

// TestText: a value is shown as is when it is printable and cannot break a line or a
// table, else quoted in Go syntax; a value starting with a quote is quoted too, so that
// no value shown as is reads as another one's quoted form.
func TestText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"c-0001", "c-0001"},
		{"acme corp", "acme corp"},
		{"Zürich-日本", "Zürich-日本"},
		{"c1: (none)\nstdin:7: customer c9", `"c1: (none)\nstdin:7: customer c9"`},
		{"c2\x1b[2J", `"c2\x1b[2J"`},
		{"a\tb", `"a\tb"`},
		{"a\rb", `"a\rb"`},
		{"x\u2028y\u2029", `"x\u2028y\u2029"`},
		{"abc\u202edef", `"abc\u202edef"`},
		{"abc\u2067def", `"abc\u2067def"`},
		{"a\u0085b", `"a\u0085b"`},
		{"\xff", `"\xff"`},
		{`"c1"`, `"\"c1\""`},
		{" c1", `" c1"`},
		{"c1 ", `"c1 "`},
		{"", `""`},
	} {
		if got := shown.Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{`{"$.u":"a"}`, `{"$.u":"a"}`},
		{"null", "null"},
		{"{\"$.u\":\"a\u202eb\u2028\"}", `{"$.u":"a\u202eb\u2028"}`},
		{"[\"\U0001F600\U000E0001\"]", `["` + "\U0001F600" + `\udb40\udc01"]`},
		{"[\"a\xffb\"]", `["a\ufffdb"]`},   // a byte that is not UTF-8: U+FFFD, escaped
		{"[\"a\uffffb\"]", `["a\uffffb"]`}, // U+FFFF, the last of the BMP: one escape, not a pair
	} {
		if got := shown.JSON(tt.in); got != tt.want {
			t.Errorf("JSON(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestQuotedCutsLongValues: a value longer than the bound is quoted up to a character's
// start within it, and its whole size said outside the quotes, so a message quoting a
// record key stays bounded whatever the key.
func TestQuotedCutsLongValues(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"c-1/r", 8, `"c-1/r"`},
		{"c-1/rule", 8, `"c-1/rule"`},
		{"c-1/rules", 8, `"c-1/rule"… (9 bytes)`},
		{"ab日本", 4, `"ab"… (8 bytes)`},
		{"a\nbcdef", 3, `"a\nb"… (7 bytes)`},
	} {
		if got := shown.Quoted(tt.in, tt.n); got != tt.want {
			t.Errorf("Quoted(%q, %d) = %s, want %s", tt.in, tt.n, got, tt.want)
		}
	}
	if got, cut := shown.Cut("ab日本", 4); got != "ab" || !cut {
		t.Errorf("Cut(ab日本, 4) = %q %v, want \"ab\" true", got, cut)
	}
	// A key that is no UTF-8 at all (a control's record key may be any bytes) is cut
	// to nothing, not read before its start.
	if got, cut := shown.Cut("\x80\x80\x80", 2); got != "" || !cut {
		t.Errorf("Cut(\\x80\\x80\\x80, 2) = %q %v, want \"\" true", got, cut)
	}
	if got, cut := shown.Cut("ab", 4); got != "ab" || cut {
		t.Errorf("Cut(ab, 4) = %q %v, want \"ab\" false", got, cut)
	}
}
