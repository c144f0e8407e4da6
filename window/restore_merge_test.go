package window

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// restored encodes s, decodes it under the same rule and limits, and fails unless the
// decoded state passes its invariants and encodes to the same bytes: a restart must be
// exact.
func restored(t *testing.T, r *rule.Rule, s *State) *State {
	t.Helper()
	enc := s.AppendTo(nil)
	dec, _, err := Decode(r, s.lim, enc)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if err := dec.check(); err != nil {
		t.Fatalf("decoded state: %v", err)
	}
	if string(dec.AppendTo(nil)) != string(enc) {
		t.Errorf("the decoded state encodes differently from the state it was encoded from")
	}
	return dec
}

// TestRestoreKeepsZeroAndNegativeZeroApart: restoring merges consecutive windows of
// the same figures into one cell (encode.go's restoreWindows), comparing values by
// their bits. A min window of -0 beside one of 0 compare equal as numbers, yet report
// "-0" and "0" in an alert's value: merged, the second window came back as -0 after a
// restart.
func TestRestoreKeepsZeroAndNegativeZeroApart(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"aggregate":{"fn":"min","path":"$.v"},` +
		`"group_by":["$.g"],"window":{"size":"1s"},"lateness":"1h","threshold":{"op":"<","value":-5}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{})
	doc := jsonpath.NewDocument()
	for i, v := range []string{"-0", "0"} {
		if err := doc.Reset(fmt.Appendf(nil, `{"g":"a","v":%s}`, v)); err != nil {
			t.Fatal(err)
		}
		s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(int64(i) * 1000)}, func(Crossing) { t.Fatal("no window is below -5") })
	}
	signs := func(ws []Window) []bool {
		out := make([]bool, len(ws))
		for i, w := range ws {
			out[i] = math.Signbit(w.Value)
		}
		return out
	}
	if got := signs(s.Windows("")); fmt.Sprint(got) != "[true false]" {
		t.Fatalf("before the restart, the windows' signs are %v; want [true false] (-0, then 0)", got)
	}
	dec := restored(t, r, s)
	if got := signs(dec.Windows("")); fmt.Sprint(got) != "[true false]" {
		t.Fatalf("after the restart, the windows' signs are %v; want [true false] (-0, then 0)", got)
	}
}

// TestRestoreSplitsCellsAtMaxSpan: a cell holds at most maxSpan windows (its span
// field's width). A group of more consecutive windows of the same figures, which a
// long lateness keeps open (68,401 here, under max_rule_open_windows' 100,000), is
// restored as more than one cell; merged past maxSpan, the span overflowed into the
// cell's event count.
func TestRestoreSplitsCellsAtMaxSpan(t *testing.T) {
	const n = maxSpan + 2
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},` +
		`"group_by":["$.g"],"window":{"size":"1s"},"lateness":"19h","threshold":1e9}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{})
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"g":"a"}`)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(int64(i) * 1000)}, func(Crossing) { t.Fatal("no window reaches 1e9") })
	}
	if s.WindowCount() != n {
		t.Fatalf("%d open windows, want %d", s.WindowCount(), n)
	}
	dec := restored(t, r, s)
	ws := dec.Windows("")
	if len(ws) != n {
		t.Fatalf("after the restart, %d windows, want %d", len(ws), n)
	}
	for i, w := range ws {
		if w.Count != 1 || w.Start != int64(i)*1000 {
			t.Fatalf("after the restart, window %d starts at %d with count %d; want %d and 1", i, w.Start, w.Count, int64(i)*1000)
		}
	}
}
