package window_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/window"
)

// TestBigIntegerGroupsSurviveSnapshots: a group keyed by an id's digits (an integer
// float64 does not hold) encodes and decodes, and a restored group is the one later
// events of that id count in. A snapshot written before such ids had their own key
// (the id keyed as its float64, as 1.2345678901234568e18 still is) decodes too, its
// group shown as that float64; later events of the id start a group of their own.
func TestBigIntegerGroupsSurviveSnapshots(t *testing.T) {
	r := mustRule(t, `"group_by":["$.user"],"window":{"size":"1h"},"threshold":2`)
	add := func(s *window.State, f *feeder, doc string, off int64) []window.Crossing {
		t.Helper()
		if err := f.doc.Reset([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		var got []window.Crossing
		s.Add(&window.Event{Customer: "c", Doc: f.doc, Time: time.UnixMilli(1000 + off), Offset: off}, func(c window.Crossing) {
			c.Group = bytes.Clone(c.Group)
			got = append(got, c)
		})
		return got
	}
	groups := func(s *window.State) []string {
		var out []string
		s.EachWindow(func(w *window.Window) {
			g, err := window.GroupJSON(r.GroupBy, w.Group)
			if err != nil {
				t.Fatalf("restored group %x: %v", w.Group, err)
			}
			b, _ := json.Marshal(g)
			out = append(out, string(b))
		})
		slices.Sort(out)
		return out
	}

	t.Run("digits key", func(t *testing.T) {
		s, f := window.New(r, window.Limits{}), newFeeder()
		add(s, f, `{"user":1234567890123456789}`, 0)
		add(s, f, `{"user":1234567890123456790}`, 1)
		snap := s.AppendTo(nil)
		d, rest, err := window.Decode(r, window.Limits{}, snap)
		if err != nil || len(rest) != 0 {
			t.Fatalf("decode: %v (%d bytes left)", err, len(rest))
		}
		if again := d.AppendTo(nil); !bytes.Equal(again, snap) {
			t.Errorf("re-encoded state differs:\n%x\n%x", again, snap)
		}
		want := []string{`{"$.user":1234567890123456789}`, `{"$.user":1234567890123456790}`}
		if got := groups(d); !slices.Equal(got, want) {
			t.Errorf("restored groups %v, want %v", got, want)
		}
		got := add(d, f, `{"user":1234567890123456789}`, 2)
		if len(got) != 1 {
			t.Fatalf("%d crossings after the id's second event, want 1", len(got))
		}
		if a, err := window.Alert(r, got[0], 0, 2, time.UnixMilli(1002), "live"); err != nil {
			t.Fatal(err)
		} else if g, _ := json.Marshal(a.Group); string(g) != want[0] {
			t.Errorf("alert group %s, want %s", g, want[0])
		}
	})

	t.Run("float key of an earlier snapshot", func(t *testing.T) {
		s, f := window.New(r, window.Limits{}), newFeeder()
		add(s, f, `{"user":1.2345678901234568e18}`, 0) // the earlier key of 1234567890123456789
		d, _, err := window.Decode(r, window.Limits{}, s.AppendTo(nil))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		// Shown with the float64's exact digits: the shortest ones, 1234567890123456800,
		// would key by their digits as another group.
		if got, want := groups(d), []string{`{"$.user":1234567890123456768}`}; !slices.Equal(got, want) {
			t.Errorf("restored groups %v, want %v", got, want)
		}
	})
}
