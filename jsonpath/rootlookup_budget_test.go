package jsonpath

import (
	"fmt"
	"strings"
	"testing"
)

// TestAbsoluteQueryInFilterIsResolvedOnce: a filter that reads the root ($.limit) for
// each element of a large array, over an event whose root object has many members
// (here with escaped names, each compared by decoding it), resolved the root query
// once per element: 4,000 members times 30,000 elements, 3.5 s for one Eval of a
// 119 KB event, and no budget counted it (found by a review helper). An absolute
// singular query is constant over a document: it is resolved once per document, and
// the filter selects what it selected.
func TestAbsoluteQueryInFilterIsResolvedOnce(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 4000 {
		fmt.Fprintf(&b, `"\u0061%d":0,`, i) // "a0", "a1", ... written with an escape
	}
	b.WriteString(`"limit":29995,"items":[`)
	for i := range 30000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, i)
	}
	b.WriteString(`]}`)
	d := NewDocument()
	if err := d.Reset([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	p := MustParse(`$.items[?@ > $.limit && @ != $.a7]`)
	got, err := p.EvalChecked(d, nil)
	if err != nil || len(got) != 4 || got[0].Num() != 29996 || got[3].Num() != 29999 {
		t.Fatalf("filter selected %d values (%v), err %v; want 29996…29999", len(got), got, err)
	}
	if len(d.abs) != 2 {
		t.Errorf("%d absolute queries resolved for the document, want 2 ($.limit and $.a7, once each)", len(d.abs))
	}
	got, _ = p.EvalChecked(d, nil)
	if len(got) != 4 || len(d.abs) != 2 {
		t.Errorf("a second Eval: %d values, %d absolute queries resolved; want 4 and still 2", len(got), len(d.abs))
	}
	if err := d.Reset([]byte(`{"limit":0,"items":[1],"a7":1}`)); err != nil {
		t.Fatal(err)
	}
	if got = p.Eval(d, nil); len(got) != 0 {
		t.Errorf("after Reset: %v, want nothing (1 > 0 but 1 == $.a7): the next document's root is resolved anew", got)
	}
}
