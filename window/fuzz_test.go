package window_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// fuzzRules are the rules FuzzDecode decodes for: each kind of state layout (plain
// cells, count_distinct's values, windows or a running total, groups or none).
var fuzzRules = []string{
	`"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"threshold":2`,
	`"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g","$.h"],"window":{"size":"10s"},"threshold":2`,
	`"aggregate":{"fn":"sum","path":"$.v"},"threshold":{"op":"<","value":0}`,
	`"aggregate":{"fn":"min","path":"$.v"},"window":{"size":"1s"},"lateness":"5s","threshold":{"op":"<=","value":1}`,
}

// fuzzEvents make a state of every fuzzRules rule with several groups, customers and
// windows, and count_distinct values.
var fuzzEvents = []in{
	{"c1", `{"g":"a","h":1,"v":1}`, 1000},
	{"c1", `{"g":"a","h":1,"v":2}`, 6000},
	{"c2", `{"g":{"x":[1,true,null]},"v":-3}`, 7000},
	{"", `{"g":"a","v":"x"}`, 7500},
	{"c1", `{"g":1e400,"h":"b","v":2.5}`, 8000},
}

// FuzzDecode checks that Decode never panics, whatever the bytes, and that a state it
// accepts is usable as a restored snapshot is: it reports, re-encodes to bytes that
// decode to the same encoding, and takes events.
func FuzzDecode(f *testing.F) {
	for i, fields := range fuzzRules {
		st, _ := run(f, mustRule(f, fields), window.Limits{}, fuzzEvents...)
		enc := st.AppendTo(nil)
		f.Add(uint8(i), enc)
		f.Add(uint8(i), enc[:len(enc)/2])
		f.Add(uint8(i), append(enc, 0))
		f.Add(uint8(i), window.New(mustRule(f, fields), window.Limits{}).AppendTo(nil))
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{1, 0x80})
	rules := make([]*rule.Rule, len(fuzzRules))
	for i, fields := range fuzzRules {
		rules[i] = mustRule(f, fields)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		r := rules[int(which)%len(rules)]
		lim := window.Limits{MaxGroups: 4, MaxDistinct: 4}
		st, rest, err := window.Decode(r, lim, data)
		if err != nil {
			if st != nil || rest != nil {
				t.Fatalf("Decode failed (%v) but returned a state or rest", err)
			}
			if !errorsIsCorrupt(err) {
				t.Fatalf("Decode error %v is not ErrCorrupt", err)
			}
			return
		}
		if len(rest) > len(data) || !bytes.HasSuffix(data, rest) {
			t.Fatalf("rest %q is not the end of the data", rest)
		}
		use(t, r, st)

		// Re-encoding is stable: what the decoded state writes decodes to a state
		// that writes it again.
		enc := st.AppendTo(nil)
		again, rest2, err := window.Decode(r, lim, enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-encoding of a decoded state does not decode: %v (%d bytes left)", err, len(rest2))
		}
		if enc2 := again.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding changed:\n%q\n%q", enc, enc2)
		}

		// A restored state takes events.
		doc := jsonpath.NewDocument()
		for _, e := range fuzzEvents {
			if err := doc.Reset([]byte(e.doc)); err != nil {
				t.Fatal(err)
			}
			st.Add(&window.Event{Customer: e.cust, Doc: doc, Time: time.UnixMilli(e.rec)}, func(c window.Crossing) {
				if _, err := window.Alert(r, c, 0, 0, time.UnixMilli(e.rec), contract.SourceLive); err != nil {
					t.Errorf("alert of a crossing: %v", err)
				}
			})
		}
		use(t, r, st)
	})
}

// use reads everything a state reports, as /v1/counts and previews do.
func use(t *testing.T, r *rule.Rule, st *window.State) {
	n := 0
	for _, w := range st.Windows("") {
		n++
		// A key Decode accepted renders: the alert of a restored window never fails.
		if _, err := window.GroupJSON(r.GroupBy, w.Group); err != nil {
			t.Fatalf("group key %q of a decoded state: %v", w.Group, err)
		}
		_ = w.StartTime()
		_ = fmt.Sprint(w.Customer)
	}
	if n != st.WindowCount() {
		t.Fatalf("Windows lists %d windows, WindowCount says %d", n, st.WindowCount())
	}
	st.Customers(func(c string) { _ = st.Windows(c) })
	_ = st.Degraded()
	_, _ = st.Watermark()
}

// FuzzParseTime: text ParseTime takes is within the years 0000 to 9999, and where
// time.Parse takes the same text (its grammar is looser in places, stricter in others)
// the two agree to the millisecond, but for a leap second, which ParseTime takes as
// the second after.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-05-06T07:30:00Z", "2024-05-06t07:30:00.123z", "2016-12-31T23:59:60Z",
		"2024-05-06T07:30:00+24:00", "0000-01-01T00:00:00-00:01", "1969-12-31T23:59:59.9995Z", "9999-12-31T23:59:59.9999+00:00", "2024-05-06T7:30:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, _ := json.Marshal(s) // a string always encodes
		got, ok := window.ParseTime(jsonValue(string(text)))
		if !ok {
			return
		}
		if got < -62167219200000 || got > 253402300799999 {
			t.Fatalf("ParseTime(%q) = %d: outside the years 0000 to 9999", s, got)
		}
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && !strings.Contains(s[:min(len(s), 19)], ":60") {
			if w := want.UnixMilli(); w != got { // UnixMilli floors: its nanoseconds are never negative
				t.Fatalf("ParseTime(%q) = %d, time.Parse %d", s, got, w)
			}
		}
	})
}
