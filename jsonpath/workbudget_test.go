package jsonpath

import (
	"errors"
	"strings"
	"testing"
)

// TestSetWorkBudget: the budget's base is what SetWorkBudget last set, process-wide
// (rule.SetLimits sets it from max_rule_eval_work): three descendant segments over
// arrays nested 100 deep (about 200 nodes) are within the default budget, and cut
// short under a base of one visit, whose 64 per node of the document are all it has.
// Not parallel: the budget is process-wide.
func TestSetWorkBudget(t *testing.T) {
	defer SetWorkBudget(DefaultWorkBudget)
	doc := []byte(strings.Repeat("[1,", 100) + "1" + strings.Repeat("]", 100))
	d := NewDocument()
	if err := d.Reset(doc); err != nil {
		t.Fatal(err)
	}
	p := MustParse(`$..*..*..*`)
	want, err := p.EvalChecked(d, nil)
	if err != nil || len(want) == 0 {
		t.Fatalf("default budget: %d nodes, err %v; want a whole result", len(want), err)
	}
	for _, tc := range []struct {
		base int
		cut  bool
	}{
		{1, true},
		{0, true}, // taken for 1
		{DefaultWorkBudget, false},
		{1 << 30, false},
	} {
		SetWorkBudget(tc.base)
		got, err := p.EvalChecked(d, nil)
		if cut := errors.Is(err, ErrEvalLimit); cut != tc.cut || cut != d.Limited() {
			t.Errorf("base %d: err %v, Limited %v; want cut short %v", tc.base, err, d.Limited(), tc.cut)
		}
		if !tc.cut && len(got) != len(want) {
			t.Errorf("base %d: %d nodes, want %d", tc.base, len(got), len(want))
		}
	}
}

// TestLimitedNotStaleAfterFailedReset: Limited reports whether the last Eval stopped
// early. After a failed Reset the Document holds no document and Eval selects nothing,
// cut short by nothing: the previous document's cut must not show through Limited or
// EvalChecked. Not parallel: the budget is process-wide.
func TestLimitedNotStaleAfterFailedReset(t *testing.T) {
	defer SetWorkBudget(DefaultWorkBudget)
	SetWorkBudget(1)
	d := NewDocument()
	if err := d.Reset([]byte(strings.Repeat("[1,", 100) + "1" + strings.Repeat("]", 100))); err != nil {
		t.Fatal(err)
	}
	if _, err := MustParse(`$..*..*..*`).EvalChecked(d, nil); !errors.Is(err, ErrEvalLimit) {
		t.Fatalf("setup: want the query cut short, got %v", err)
	}
	if err := d.Reset([]byte(`{"a":`)); err == nil {
		t.Fatal("setup: Reset accepted invalid JSON")
	}
	got, err := MustParse(`$.a`).EvalChecked(d, nil)
	if len(got) != 0 || err != nil || d.Limited() {
		t.Errorf("after a failed Reset, EvalChecked($.a) = %v, err %v, Limited() = %v; want nothing, nil, false", got, err, d.Limited())
	}
}

// TestDescendantSweepIsCharged: a descendant segment costs a visit per node it sweeps,
// even when its selector finds nothing to charge for. `$..*..a` over arrays nested 200
// deep (about 400 nodes) sweeps every node's subtree, some 40,000 visits: past a base
// of one visit plus 64 per node, though a name selector never applies to an array.
// Not parallel: the budget is process-wide.
func TestDescendantSweepIsCharged(t *testing.T) {
	defer SetWorkBudget(DefaultWorkBudget)
	d := NewDocument()
	if err := d.Reset([]byte(strings.Repeat("[1,", 200) + "1" + strings.Repeat("]", 200))); err != nil {
		t.Fatal(err)
	}
	p := MustParse(`$..*..a`)
	if got, err := p.EvalChecked(d, nil); err != nil || len(got) != 0 {
		t.Fatalf("default budget: %v, err %v; want nothing, uncut", got, err)
	}
	SetWorkBudget(1)
	if _, err := p.EvalChecked(d, nil); !errors.Is(err, ErrEvalLimit) || !d.Limited() {
		t.Errorf("base 1: err %v, Limited %v; want cut short", err, d.Limited())
	}
}
