package jsonpath

import (
	"fmt"
	"strings"
	"testing"
)

// TestLookupMemoTellsObjectsApart: the per-document lookup memo has 512 slots keyed by
// a hash of (object, name), so among more objects than slots two share one; a hit must
// be of the same object, or a member of one object is answered for another. 600 objects
// of more than memoMinMembers members each, each with its own "k".
func TestLookupMemoTellsObjectsApart(t *testing.T) {
	const objects = 600
	var b strings.Builder
	b.WriteByte('[')
	for i := range objects {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for m := range memoMinMembers + 2 {
			fmt.Fprintf(&b, `"m%d":%d,`, m, m)
		}
		fmt.Fprintf(&b, `"k":%d}`, i)
	}
	b.WriteByte(']')
	d := NewDocument()
	if err := d.Reset([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{`$[*].k`, `$[?@.k >= 0].k`} {
		p, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Eval(d, nil)
		if len(got) != objects {
			t.Fatalf("%s: %d values, want %d", expr, len(got), objects)
		}
		for i, v := range got {
			if v.Raw() != fmt.Sprint(i) {
				t.Fatalf("%s: object %d's k is %s, want %d (another object's member, from the memo)", expr, i, v.Raw(), i)
			}
		}
	}
}
