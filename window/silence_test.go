package window_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestSilenceHoldsTheResolve: an incident Silence marks (its firing alert was never
// sent) still suppresses, and closes without a resolved record, before and after the
// state goes through AppendTo and Decode; other incidents resolve as before, and a
// state without silent incidents encodes as before Silence existed.
func TestSilenceHoldsTheResolve(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"threshold":2,"alert":{"resolve":true}`)
	ev := func(g string, ms int64) in { return in{"c1", `{"g":"` + g + `"}`, ms} }
	st, out := run(t, r, window.Limits{}, ev("a", 1000), ev("a", 2000), ev("b", 3000), ev("b", 4000))
	if len(out) != 2 || st.Incidents() != 2 {
		t.Fatalf("crossings %v, %d incidents; want a's and b's", out, st.Incidents())
	}
	before := st.AppendTo(nil)
	if st.Silence("c1", []byte(gk(`"a"`)), 10_000) {
		t.Fatal("silenced an incident of another window")
	}
	if !st.Silence("c1", []byte(gk(`"a"`)), 0) {
		t.Fatal("a's incident not found")
	}
	if st.Silence("c2", []byte(gk(`"a"`)), 0) {
		t.Fatal("silenced another customer's incident")
	}
	enc := st.AppendTo(nil)
	if slices.Equal(enc, before) {
		t.Fatal("the silence is not in the encoding")
	}
	dec, rest, err := window.Decode(r, window.Limits{}, enc)
	if err != nil || len(rest) != 0 {
		t.Fatalf("decode: %v, %d bytes left", err, len(rest))
	}
	for name, s := range map[string]*window.State{"as is": st, "decoded": dec} {
		f := newFeeder()
		f.add(t, s, ev("a", 5000)) // in a's window, which crossed already
		f.add(t, s, ev("c", 30_000))
		var resolved []string
		for _, c := range f.out {
			if c.Resolved {
				resolved = append(resolved, c.Group)
			}
		}
		if len(f.out) != 1 || !slices.Equal(resolved, []string{gk(`"b"`)}) {
			t.Errorf("%s: crossings %v; want b's resolve alone", name, f.out)
		}
	}
	// Without silent incidents, the encoding is as before.
	st2, _ := run(t, r, window.Limits{}, ev("a", 1000), ev("a", 2000))
	enc2 := st2.AppendTo(nil)
	dec2, _, err := window.Decode(r, window.Limits{}, enc2)
	if err != nil || !slices.Equal(dec2.AppendTo(nil), enc2) || enc2[0]&8 != 0 {
		t.Errorf("a state without silent incidents: flags %#x, round trip %v", enc2[0], err)
	}
}

// TestSilenceBelowHoldsHistorysResolves: with SilenceBelow(2), the incidents opened by
// the events at offsets 0 and 1 (a's and b's, history whose alerts a hand-off holds
// back) close without a resolved record, as Silence would make them, while c's,
// opened at offset 3, resolves; the firings themselves still come to the caller, who
// decides what to send. A hand-off kept every history crossing in a map to silence
// afterwards: 1,440 entries an event for hopping windows.
func TestSilenceBelowHoldsHistorysResolves(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"threshold":1,"alert":{"resolve":true}`)
	ev := func(g string, ms int64) in { return in{"c1", `{"g":"` + g + `"}`, ms} }
	s := window.New(r, window.Limits{})
	s.SilenceBelow(2)
	f := newFeeder()
	for _, e := range []in{ev("a", 1000), ev("b", 2000), ev("a", 3000), ev("c", 4000), ev("d", 60_000)} {
		f.add(t, s, e)
	}
	var got []string
	for _, c := range f.out {
		got = append(got, fmt.Sprintf("%s resolved=%v", keyText(c.Group), c.Resolved))
	}
	want := []string{`("a") resolved=false`, `("b") resolved=false`, `("c") resolved=false`, `("c") resolved=true`, `("d") resolved=false`}
	if !slices.Equal(got, want) {
		t.Errorf("crossings %q; want %q", got, want)
	}
}
