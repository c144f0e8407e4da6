package window

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMinMaxOfZeroAndNegativeZeroIgnoreOrder: 0 and -0 are equal, so a min or max that
// kept the first of them showed "0" or "-0" by the order events arrived in, which live
// (offset order per partition) and a replay of history need not share. Min takes -0 and
// max 0 whatever the order, as Go's min and max do.
func TestMinMaxOfZeroAndNegativeZeroIgnoreOrder(t *testing.T) {
	for _, fn := range []string{"min", "max"} {
		for _, order := range [][]string{{"-0", "0"}, {"0", "-0"}} {
			r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"aggregate":{"fn":"` + fn + `","path":"$.v"},` +
				`"group_by":["$.g"],"window":{"size":"1m"},"threshold":{"op":">","value":5}}`))
			if err != nil {
				t.Fatal(err)
			}
			s := New(r, Limits{})
			doc := jsonpath.NewDocument()
			for i, v := range order {
				if err := doc.Reset(fmt.Appendf(nil, `{"g":"a","v":%s}`, v)); err != nil {
					t.Fatal(err)
				}
				s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(int64(i))}, func(Crossing) { t.Fatal("no window is above 5") })
			}
			ws := s.Windows("")
			if len(ws) != 1 {
				t.Fatalf("%s of %v: %d windows, want 1", fn, order, len(ws))
			}
			if got, want := math.Signbit(ws[0].Value), fn == "min"; got != want {
				t.Errorf("%s of %v: %v (sign bit %v), want sign bit %v", fn, order, ws[0].Value, got, want)
			}
		}
	}
}
