package window_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestExactBigIntegerGroupShownWithItsDigits: an id beyond 2^53 that float64 holds
// exactly (2^64 = 18446744073709551616) is keyed as its float64 ('d') and shown with
// AppendJSONFloat's shortest digits, 18446744073709552000: another integer, which an
// event may spell and which is keyed by its digits ('i') as a group of its own. Both
// groups' alerts show one and the same id, and the shown id keys apart from the
// group it names, so the alert's group (and context) is an id no event of it held.
func TestExactBigIntegerGroupShownWithItsDigits(t *testing.T) {
	r := mustRule(t, `"group_by":["$.user"],"window":{"size":"1h"},"threshold":1,"alert":{"context":["$.user"]}`)
	for _, id := range []string{"18446744073709551616", "-18446744073709551616", "9223372036854775808"} {
		t.Run(id, func(t *testing.T) {
			s, f := window.New(r, window.Limits{}), newFeeder()
			if err := f.doc.Reset([]byte(`{"user":` + id + `}`)); err != nil {
				t.Fatal(err)
			}
			var got []window.Crossing
			s.Add(&window.Event{Customer: "c", Doc: f.doc, Time: time.UnixMilli(1000), Offset: 0}, func(c window.Crossing) {
				c.Group = bytes.Clone(c.Group)
				got = append(got, c)
			})
			if len(got) != 1 {
				t.Fatalf("%d crossings, want 1", len(got))
			}
			a, err := window.Alert(r, got[0], 0, 1, time.UnixMilli(1000), "live")
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(a.Group)
			if want := `{"$.user":` + id + `}`; string(g) != want {
				t.Errorf("alert group %s for an event whose user is %s, want %s", g, id, want)
			}
			// The shown group, read back, must key as the group it names.
			shown := jsonpath.NewDocument()
			if err := shown.Reset(a.Group["$.user"]); err != nil {
				t.Fatal(err)
			}
			if k := window.AppendValueKey(nil, shown.Root()); !bytes.Equal(k, got[0].Group) {
				t.Errorf("the alert's group value %s keys as %x, the group it names is %x: another group", a.Group["$.user"], k, got[0].Group)
			}
			ctx := window.ContextOf(r, f.doc)
			if string(ctx["$.user"]) != id {
				t.Errorf("alert context $.user %s for an event whose user is %s", ctx["$.user"], id)
			}
		})
	}
}
