package window_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/window"
	"github.com/klauspost/compress/s2"
)

// TestEncodeRoundTrip checks that a decoded state is the state that was encoded: its
// windows, counters, watermark and degradation, and the bytes that follow it.
func TestEncodeRoundTrip(t *testing.T) {
	r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"lateness":"1s","threshold":2`)
	lim := window.Limits{MaxGroups: 3, MaxDistinct: 2, MaxKeyBytes: 24}
	st, _ := run(t, r, lim,
		in{"c1", `{"g":"a","v":1}`, 1000},
		in{"c1", `{"g":"a","v":2}`, 6000},
		in{"c1", `{"g":"a","v":3}`, 6000}, // beyond max_distinct in window 0s
		in{"c2", `{"g":{"y":1,"x":2},"v":1}`, 7000},
		in{"c1", `{"g":"b","v":1}`, 7000},
		in{"c1", `{"g":"c","v":1}`, 7000},                                   // beyond max_groups
		in{"c1", `{"t":"late"}`, 100},                                       // late
		in{"c1", `{"g":"a","v":"a value longer than the key limit"}`, 7000}, // beyond max_key_bytes
	)
	enc := st.AppendTo([]byte("head"))
	if string(enc[:4]) != "head" {
		t.Fatalf("AppendTo overwrote dst: %q", enc[:4])
	}
	dec, rest, err := window.Decode(r, lim, append(enc[4:], "tail"...))
	if err != nil || string(rest) != "tail" {
		t.Fatalf("Decode = %v, rest %q; want the state and \"tail\"", err, rest)
	}
	if got, want := openWindows(dec, ""), openWindows(st, ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("windows\n%+v\nwant\n%+v", got, want)
	}
	if dec.Stats() != st.Stats() || dec.Stats() != (window.Stats{Late: 1, GroupsDropped: 1, DistinctDropped: 1, Suppressed: 1, KeysTooLong: 1}) {
		t.Errorf("stats %+v, encoded %+v", dec.Stats(), st.Stats())
	}
	if dec.Degraded() != st.Degraded() {
		t.Errorf("Degraded %q, encoded %q", dec.Degraded(), st.Degraded())
	}
	wm, ok := dec.Watermark()
	if wm0, ok0 := st.Watermark(); wm != wm0 || ok != ok0 || wm != 6000 {
		t.Errorf("watermark %d %v, encoded %d %v, want 6000", wm, ok, wm0, ok0)
	}
	if dec.GroupCount() != st.GroupCount() || dec.WindowCount() != st.WindowCount() {
		t.Errorf("GroupCount %d WindowCount %d, encoded %d and %d", dec.GroupCount(), dec.WindowCount(), st.GroupCount(), st.WindowCount())
	}
	// The decoded state goes on where the encoded one stopped: the distinct values
	// kept, the limits, the fired flags, the closing of windows and the open incidents
	// (a's, opened at 6s, suppresses its crossings until 16s).
	f := newFeeder()
	for _, s := range []*window.State{st, dec} {
		f.out = nil
		f.add(t, s, in{"c1", `{"g":"a","v":2}`, 9000})  // a's windows fired already
		f.add(t, s, in{"c1", `{"g":"b","v":2}`, 9000})  // b's second value: crosses 2
		f.add(t, s, in{"c1", `{"g":"d","v":1}`, 9000})  // beyond max_groups still
		f.add(t, s, in{"c1", `{"g":"b","v":3}`, 16000}) // closes the windows before 5s
		f.add(t, s, in{"c1", `{"g":"a","v":9}`, 17000}) // the watermark (less 1s lateness) closes a's incident
		f.add(t, s, in{"c1", `{"g":"a","v":8}`, 17500}) // so a alerts again
		// b's second window crosses at the same event as its first: suppressed.
		want := []crossing{
			{"c1", gk(`"b"`), true, 0, 10000, 2, 2, false},
			{"c1", gk(`"a"`), true, 10000, 20000, 2, 2, false},
		}
		if !slices.Equal(f.out, want) {
			t.Errorf("crossings after the round trip\n%v\nwant\n%v", f.out, want)
		}
	}
	if got, want := openWindows(dec, ""), openWindows(st, ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("windows after more events\n%+v\nwant\n%+v", got, want)
	}
}

// TestEncodeDeterministic checks that one state always encodes to the same bytes,
// whatever order its maps iterate in: snapshots of equal states are equal.
func TestEncodeDeterministic(t *testing.T) {
	r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"threshold":1e9`)
	var events []in
	for i := range 200 {
		events = append(events, in{fmt.Sprint("c", i%3), fmt.Sprintf(`{"g":%d,"v":%d}`, i%5, i), int64(i)})
	}
	st, _ := run(t, r, window.Limits{}, events...)
	first := st.AppendTo(nil)
	for range 20 {
		if again := st.AppendTo(nil); string(again) != string(first) {
			t.Fatal("two encodings of one state differ")
		}
	}
	other, _ := run(t, r, window.Limits{}, events...)
	if string(other.AppendTo(nil)) != string(first) {
		t.Error("two states of the same events encode differently")
	}
}

// enc builds a state encoding by hand, for the corrupt cases.
type enc []byte

func (e enc) byte(b byte) enc   { return append(e, b) }
func (e enc) uv(n uint64) enc   { return binary.AppendUvarint(e, n) }
func (e enc) v(n int64) enc     { return binary.AppendVarint(e, n) }
func (e enc) str(s string) enc  { return append(e.uv(uint64(len(s))), s...) }
func (e enc) f64(f float64) enc { return binary.LittleEndian.AppendUint64(e, math.Float64bits(f)) }
func (e enc) header(groups int) enc {
	return e.byte(1).v(5000).uv(0).uv(0).uv(0).uv(0).uv(0).uv(uint64(groups))
}
func (e enc) cell(start, n int64) enc {
	return e.v(start).v(n).f64(float64(n)).byte(0)
}

// TestDecodeCorrupt checks that Decode refuses bytes AppendTo did not write, with
// ErrCorrupt and what is wrong, rather than restoring a state that fails later.
func TestDecodeCorrupt(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"threshold":2`)
	id := string(groupID("c", gk(`"a"`)))
	good := enc(nil).header(1).str(id).uv(2).uv(1).cell(0, 1)
	if _, rest, err := window.Decode(r, window.Limits{}, good); err != nil || len(rest) != 0 {
		t.Fatalf("the hand-made encoding does not decode: %v", err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "window: corrupt state"},
		{"truncated header", good[:3], "window: corrupt state: bad uvarint"},
		{"group count beyond the data", enc(nil).header(1000), "window: corrupt state: count beyond the data"},
		{"id beyond the data", enc(nil).header(1).uv(50).byte('x').uv(1), "window: corrupt state: length beyond the data"},
		{"truncated value", good[:len(good)-3], "window: corrupt state: short value"},
		{"missing flags", good[:len(good)-1], "window: corrupt state: short flags"},
		{"split beyond the id", enc(nil).header(1).str(id).uv(99).uv(1).cell(0, 1), "window: corrupt state: group of 1 windows split at 99 of 5 bytes"},
		{"group without windows", enc(nil).header(1).str(id).uv(2).uv(0), "window: corrupt state: group of 0 windows split at 2 of 5 bytes"},
		{"windows out of order", enc(nil).header(1).str(id).uv(2).uv(2).cell(10000, 1).cell(0, 1), "window: corrupt state: windows out of order"},
		// Two windows at one start would be counted twice by every listing and closing.
		{"a window twice", enc(nil).header(1).str(id).uv(2).uv(2).cell(0, 1).cell(0, 1), "window: corrupt state: windows out of order"},
		// 2^46 events (maxCount): a count no stream reaches, refused so that later
		// events' counts still fit in the cell's word.
		{"count past what a window holds", enc(nil).header(1).str(id).uv(2).uv(1).cell(0, 1<<46), "window: corrupt state: window count out of range"},
		{"window without events", enc(nil).header(1).str(id).uv(2).uv(1).cell(0, 0), "window: corrupt state: window count out of range"},
		{"negative count", enc(nil).header(1).str(id).uv(2).uv(1).cell(0, -3), "window: corrupt state: window count out of range"},
		{"unknown flag", append(good[:len(good)-1:len(good)-1], 4), "window: corrupt state: bad window flags"},
		{"min's flag on a count", append(good[:len(good)-1:len(good)-1], 2), "window: corrupt state: bad window flags"},
		{"a group twice", good.header(0)[:0].header(2).str(id).uv(2).uv(1).cell(0, 1).str(id).uv(2).uv(1).cell(0, 1), "window: corrupt state: a group is listed twice"},
		// Each part of the id is read back by reports and alerts.
		{"customer length beyond the id", enc(nil).header(1).str("\x09c"+gk(`"a"`)).uv(2).uv(1).cell(0, 1), "window: corrupt state: malformed group id"},
		{"split not after the customer", enc(nil).header(1).str(id).uv(1).uv(1).cell(0, 1), "window: corrupt state: malformed group id"},
		{"bad customer length", enc(nil).header(1).str("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").uv(11).uv(1).cell(0, 1), "window: corrupt state: malformed group id"},
		{"key of two values for one path", enc(nil).header(1).str(string(groupID("c", gk(`1`, `2`)))).uv(2).uv(1).cell(0, 1), "window: corrupt state: malformed group id"},
		{"malformed key", enc(nil).header(1).str("\x01cs\x05ab").uv(2).uv(1).cell(0, 1), "window: corrupt state: malformed group id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rest, err := window.Decode(r, window.Limits{}, tt.data)
			if err == nil || err.Error() != tt.want || !errorsIsCorrupt(err) || st != nil || rest != nil {
				t.Errorf("Decode = %v, %q, %v; want the error %q", st, rest, err, tt.want)
			}
		})
	}
}

// TestDecodeRefusesRepeatedDistinctValues: a count_distinct window's value count is
// checked only against the bytes left. A set of N copies of one empty value (N bytes of
// input, a few dozen as a snapshot compresses them) decoded without error into a set of
// one value, in a map Decode had sized for N (53 bytes allocated per byte of input).
// Values must come in AppendTo's strictly ascending order, and the map grows as they do.
func TestDecodeRefusesRepeatedDistinctValues(t *testing.T) {
	r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"10s"},"threshold":100`)
	st, _ := run(t, r, window.Limits{}, in{"c1", `{"v":"ZZZZZZZZ"}`, 1000})
	enc := st.AppendTo(nil)
	// ... flags(1 window) | set count 1 | value entry: len 10, 's', 8, "ZZZZZZZZ" | samples
	i := bytes.Index(enc, []byte("ZZZZZZZZ")) - 4
	if i < 0 || enc[i] != 1 || enc[i+1] != 10 {
		t.Fatalf("unexpected encoding % x", enc)
	}
	const n = 1 << 20
	data := append([]byte(nil), enc[:i]...)
	data = binary.AppendUvarint(data, n)
	data = append(data, make([]byte, n)...) // n empty values, all the same
	data = append(data, enc[i+2+10:]...)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	dec, rest, err := window.Decode(r, window.Limits{}, data)
	runtime.ReadMemStats(&m1)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("Decode of %d bytes (%d bytes as S2, as a snapshot stores them): err %v, rest %d, state returned %v; allocated %d bytes (%.0fx the input)",
		len(data), len(s2.Encode(nil, data)), err, len(rest), dec != nil, alloc, float64(alloc)/float64(len(data)))
	if err == nil {
		t.Errorf("Decode accepted a value set listing one value %d times", n)
	}
	if alloc > 8*uint64(len(data)) {
		t.Errorf("Decode of %d bytes allocated %d bytes", len(data), alloc)
	}
}
