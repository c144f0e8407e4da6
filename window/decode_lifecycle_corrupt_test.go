package window_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// incident appends one open incident of the lifecycle section: id, opened, closes,
// window start and end, count, value bits, and the silence byte when silent is not -1.
func (e enc) incident(id string, opened, closes, start, end, count int64, silent int) enc {
	e = e.str(id).v(opened).v(closes).v(start).v(end).v(count).f64(float64(count))
	if silent >= 0 {
		e = e.byte(byte(silent))
	}
	return e
}

// lifeHeader is a state with flags, no groups, and a lifecycle section of n incidents
// (Suppressed and IncidentsDropped 0) to follow.
func lifeHeader(flags byte, n int) enc {
	return enc(nil).byte(flags).v(5000).uv(0).uv(0).uv(0).uv(0).uv(0).uv(0).uv(0).uv(0).uv(uint64(n))
}

// TestDecodeCorruptLifecycle: the lifecycle section's checks in Decode had no test (a
// mutation hunt: accepting an incident listed twice, one closing before it opened, one
// of count 0, the silent flag without a lifecycle, or a lifecycle for a rule without
// windows each passed every test). Each is refused with ErrCorrupt and what
// is wrong; a restored incident listed twice would be due twice, and without
// its check a lifecycle section for a running total panicked (its window every is 0,
// and a remainder by it is taken).
func TestDecodeCorruptLifecycle(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"threshold":2,"alert":{"resolve":true}`)
	id := string(groupID("c", gk(`"a"`)))
	id2 := string(groupID("c", gk(`"b"`)))
	good := lifeHeader(1|2|8, 2).incident(id, 10000, 20000, 0, 10000, 2, 1).incident(id2, 10000, 20000, 0, 10000, 2, 0)
	st, rest, err := window.Decode(r, window.Limits{}, good)
	if err != nil || len(rest) != 0 {
		t.Fatalf("the hand-made encoding does not decode: %v", err)
	}
	if got := st.AppendTo(nil); string(got) != string(good) {
		t.Fatalf("the hand-made encoding re-encodes as % x\nwant % x", got, good)
	}
	tests := []struct {
		name string
		r    string // the rule, if not r
		data []byte
		want string
	}{
		{"an incident twice", "", lifeHeader(1|2, 2).incident(id, 10000, 20000, 0, 10000, 2, -1).incident(id, 10000, 20000, 0, 10000, 2, -1), "window: corrupt state: incidents out of order"},
		{"incidents out of order", "", lifeHeader(1|2, 2).incident(id2, 10000, 20000, 0, 10000, 2, -1).incident(id, 10000, 20000, 0, 10000, 2, -1), "window: corrupt state: incidents out of order"},
		{"closes before it opened", "", lifeHeader(1|2, 1).incident(id, 20000, 19999, 0, 10000, 2, -1), "window: corrupt state: incident out of range"},
		{"window not the rule's size", "", lifeHeader(1|2, 1).incident(id, 10000, 20000, 0, 9999, 2, -1), "window: corrupt state: incident out of range"},
		{"window at no start of the rule's", "", lifeHeader(1|2, 1).incident(id, 10000, 20000, 1, 10001, 2, -1), "window: corrupt state: incident out of range"},
		{"no events", "", lifeHeader(1|2, 1).incident(id, 10000, 20000, 0, 10000, 0, -1), "window: corrupt state: incident out of range"},
		{"malformed id", "", lifeHeader(1|2, 1).incident("\x09c", 10000, 20000, 0, 10000, 2, -1), "window: corrupt state: malformed incident group id"},
		{"bad silence byte", "", lifeHeader(1|2|8, 1).incident(id, 10000, 20000, 0, 10000, 2, 2), "window: corrupt state: bad incident silence byte"},
		{"silent flag without a lifecycle", "", lifeHeader(1|8, 0)[:len(lifeHeader(1|8, 0))-3], "window: corrupt state: unknown state flags 0x9"},
		{"lifecycle for a running total", `"group_by":["$.g"],"threshold":2`, lifeHeader(1|2, 1).incident(id, 10000, 20000, 0, 0, 2, -1), "window: corrupt state: lifecycle section for a rule without suppress or resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			if tt.r != "" {
				rr = mustRule(t, tt.r)
			}
			st, rest, err := window.Decode(rr, window.Limits{}, tt.data)
			if err == nil || err.Error() != tt.want || !errorsIsCorrupt(err) || st != nil || rest != nil {
				t.Errorf("Decode = %v, %q, %v; want the error %q", st, rest, err, tt.want)
			}
		})
	}
}
