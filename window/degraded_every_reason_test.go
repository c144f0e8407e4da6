package window

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDegradedNamesEveryReason: a state whose figures are lower bounds for more than one
// reason said only the first (a sum that overflowed hid the events refused for a key
// too long), so a user raising the one limit named still had figures short.
func TestDegradedNamesEveryReason(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"aggregate":{"fn":"sum","path":"$.v"},` +
		`"group_by":["$.g"],"window":{"size":"1m"},"threshold":{"op":"<","value":-1}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{MaxKeyBytes: 16})
	doc := jsonpath.NewDocument()
	for i, ev := range []string{`{"g":"a","v":1e308}`, `{"g":"a","v":1e308}`, `{"g":"` + strings.Repeat("x", 40) + `","v":1}`} {
		if err := doc.Reset([]byte(ev)); err != nil {
			t.Fatal(err)
		}
		s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(int64(i))}, func(Crossing) { t.Fatal("no sum is below -1") })
	}
	st := s.Stats()
	if st.Overflows != 1 || st.KeysTooLong != 1 {
		t.Fatalf("stats %+v, want one overflow and one key too long", st)
	}
	got := s.Degraded()
	for _, want := range []string{"overflow", fmt.Sprintf("key limit %d bytes", 16)} {
		if !strings.Contains(got, want) {
			t.Errorf("Degraded() = %q, want it to say %q", got, want)
		}
	}
}
