package window

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// hasWideInteger reports whether v holds an integer written in digits of magnitude
// 2^53 or more, which
// AppendValueKey keys by its digits where Equal compares float64s (by design).
func hasWideInteger(v jsonpath.Value) bool {
	switch v.Kind() {
	case jsonpath.KindNumber:
		return math.Abs(v.Num()) >= 1<<53 && isDigits(strings.TrimPrefix(v.Raw(), "-"))
	case jsonpath.KindArray:
		for e := range v.Elems {
			if hasWideInteger(e) {
				return true
			}
		}
	case jsonpath.KindObject:
		for _, m := range v.Members {
			if hasWideInteger(m) {
				return true
			}
		}
	}
	return false
}

// FuzzValueKeyAgreesWithEqual: two JSON values have the same group key exactly when
// the rule language calls them equal (jsonpath.Equal, what == in a condition uses),
// away from integers past 2^53; and a key's JSON text keys back to the same key.
func FuzzValueKeyAgreesWithEqual(f *testing.F) {
	for _, s := range [][2]string{
		{`1`, `1.0`}, {`-0`, `0`}, {`1e400`, `1e401`}, {`"\u00e9"`, `"é"`}, {`{"a":1,"b":2}`, `{"b":2,"a":1}`},
		{`{"a":1,"a":2}`, `{"a":1}`}, {`{"a":1,"a":2}`, `{"a":2}`}, {`[1,[2]]`, `[1.0,[2e0]]`}, {`null`, `false`},
		{`"\ud83d\ude00"`, `"😀"`}, {`0.1`, `0.10000000000000001`}, {`5e-324`, `0`}, {`1e-400`, `-0`}, {`{}`, `[]`},
	} {
		f.Add(s[0], s[1])
	}
	da, db, dc := jsonpath.NewDocument(), jsonpath.NewDocument(), jsonpath.NewDocument()
	f.Fuzz(func(t *testing.T, a, b string) {
		if da.Reset([]byte(a)) != nil || db.Reset([]byte(b)) != nil {
			return
		}
		va, vb := da.Root(), db.Root()
		if hasWideInteger(va) || hasWideInteger(vb) {
			return
		}
		ka, kb := AppendValueKey(nil, va), AppendValueKey(nil, vb)
		if eq := jsonpath.Equal(va, vb); eq != bytes.Equal(ka, kb) {
			t.Fatalf("%s and %s: Equal says %v, their group keys equal %v", a, b, eq, bytes.Equal(ka, kb))
		}
		text, rest, err := appendKeyJSON(nil, ka)
		if err != nil || len(rest) != 0 {
			t.Fatalf("key of %s: appendKeyJSON: %v, %d bytes left", a, err, len(rest))
		}
		if err := dc.Reset(text); err != nil {
			t.Fatalf("key of %s writes %s, not JSON: %v", a, text, err)
		}
		if k := AppendValueKey(nil, dc.Root()); !bytes.Equal(k, ka) {
			t.Fatalf("%s keys as %q, its text %s as %q", a, ka, text, k)
		}
	})
}
