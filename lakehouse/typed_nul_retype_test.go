package lakehouse

import (
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestTypedValueWithANULAnywhereIsUntyped: a string value holding a NUL is kept by
// the payload alone (TypedUntyped), wherever the NUL is. Found by a mutation hunt:
// typedValue's IndexByte(s, 0) >= 0 as > 0 passed every test, typing a string that
// starts with a NUL.
func TestTypedValueWithANULAnywhereIsUntyped(t *testing.T) {
	p, err := jsonpath.Parse("$.s")
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	for _, tc := range []struct {
		json string
		kind int8
		s    string
	}{
		{`{"s":"\u0000ab"}`, TypedUntyped, ""},
		{`{"s":"a\u0000b"}`, TypedUntyped, ""},
		{`{"s":"ab\u0000"}`, TypedUntyped, ""},
		{`{"s":"\u0000"}`, TypedUntyped, ""},
		{`{"s":"ab"}`, TypedString, "ab"},
		{`{"s":""}`, TypedString, ""},
	} {
		if err := doc.Reset([]byte(tc.json)); err != nil {
			t.Fatal(err)
		}
		kind, _, s, _ := typedValue(p, doc, nil)
		if kind != tc.kind || s != tc.s {
			t.Errorf("%s: kind %d, string %q; want %d, %q", tc.json, kind, s, tc.kind, tc.s)
		}
	}
}

// TestRetypePastTheLimitKeepsTheMostUsedPaths: a merge typing more paths than its
// limit, none preferred, keeps those that selected a value in the most rows. Found by
// a mutation hunt: retype's order by use turned around (fewest first) passed every
// test.
func TestRetypePastTheLimitKeepsTheMostUsedPaths(t *testing.T) {
	canon := func(s string) string {
		p, err := jsonpath.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}
	files := []FileEntry{
		{Columns: []TypedColumn{{Path: canon("$.a"), Values: 10}, {Path: canon("$.b"), Values: 3}}},
		{Columns: []TypedColumn{{Path: canon("$.c"), Values: 4}, {Path: canon("$.b"), Values: 2}, {Path: canon("$.d"), Values: 1}}},
	}
	tp, left := retype(files, 2, nil)
	if tp == nil {
		t.Fatal("retype typed no path")
	}
	var got []string
	for _, c := range tp.cols {
		got = append(got, c.Path)
	}
	slices.Sort(got)
	want := []string{canon("$.a"), canon("$.b")} // used in 10 and 5 rows; $.c 4, $.d 1
	if !slices.Equal(got, want) || left != 2 {
		t.Errorf("retype kept %q, left %d out; want %q, 2", got, left, want)
	}
	// A preferred path comes first whatever its use.
	tp, left = retype(files, 2, []string{canon("$.d")})
	got = got[:0]
	for _, c := range tp.cols {
		got = append(got, c.Path)
	}
	slices.Sort(got)
	want = []string{canon("$.a"), canon("$.d")}
	if !slices.Equal(got, want) || left != 2 {
		t.Errorf("preferring $.d, retype kept %q, left %d out; want %q, 2", got, left, want)
	}
}
