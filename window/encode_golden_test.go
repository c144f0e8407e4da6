package window_test

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// goldenStates are fixed states with the bytes AppendTo wrote for them when the
// snapshot format was fixed. The encoding is a snapshot format: a change to the
// state's storage must not change it (the same state encodes the same), and snapshots
// written by earlier versions must decode to the state they were written from.
var goldenStates = []struct {
	name   string
	fields string
	lim    window.Limits
	events []in
	hex    string
	// earlier is the encoding before groups kept samples (flagSamples): snapshots
	// written then must still decode to the same windows and counters.
	earlier string
}{
	{
		name:   "sum hopping, two customers, two paths, late, time error, overflow",
		fields: `"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g","$.h"],"window":{"size":"10s","every":"5s"},"time":"$.t","lateness":"2s","threshold":{"op":">","value":3},"alert":{"suppress":"0s"}`,
		events: []in{
			{"c1", `{"t":1000,"g":"a","h":1,"v":2}`, 0},
			{"c1", `{"t":6000,"g":"a","h":1,"v":2}`, 0},
			{"c2", `{"t":6500,"g":{"y":[1,null],"x":true},"v":-1.5}`, 0},
			{"c1", `{"t":4000,"g":"b","v":1e308}`, 0},
			{"c1", `{"t":4500,"g":"b","v":1e308}`, 0}, // overflows
			{"c1", `{"t":"nope","g":"b","v":1}`, 0},   // time error
			{"", `{"t":12000,"g":"a","h":1,"v":0.25}`, 0},
			{"c1", `{"t":100,"g":"a","h":1,"v":5}`, 0}, // late
			{"c2", `{"t":11000,"g":"z"}`, 0},           // no value
		},
		hex:     "05c0bb010201000000030d00730161643ff00000000000000102904e02000000000000d03f00a09c0102000000000000d03f000f026331730161643ff00000000000000301904e02000000000000004000170263326f0201787401796102643ff00000000000006e6e0301904e02000000000000f8bf00010cc0bb010202e05d00d00f0104c865",
		earlier: "01c0bb010201000000030d00730161643ff00000000000000102904e02000000000000d03f00a09c0102000000000000d03f000f026331730161643ff00000000000000301904e02000000000000004000170263326f0201787401796102643ff00000000000006e6e0301904e02000000000000f8bf00",
	},
	{
		name:   "min running total by group",
		fields: `"aggregate":{"fn":"min","path":"$.v"},"group_by":["$.g"],"threshold":{"op":"<","value":0}`,
		events: []in{
			{"c1", `{"g":1,"v":3}`, 5},
			{"c1", `{"g":1.0,"v":-2}`, 1},
			{"c3", `{"g":null,"v":7}`, 9},
			{"c1", `{"v":1}`, 2},
		},
		hex:     "04000000000000030c026331643ff00000000000000301000400000000000000c003040263316e03010002000000000000f03f02040263336e030100020000000000001c40020202000000010600010400",
		earlier: "00000000000000030c026331643ff00000000000000301000400000000000000c003040263316e03010002000000000000f03f02040263336e030100020000000000001c4002",
	},
	{
		name:   "count_distinct with limits",
		fields: `"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"lateness":"1s","threshold":2,"alert":{"suppress":"0s"}`,
		lim:    window.Limits{MaxGroups: 3, MaxDistinct: 2},
		events: []in{
			{"c1", `{"g":"a","v":1}`, 1000},
			{"c1", `{"g":"a","v":"1"}`, 6000},
			{"c1", `{"g":"a","v":[1]}`, 6000}, // beyond max_distinct
			{"c2", `{"g":"a","v":{"k":1}}`, 7000},
			{"c1", `{"g":"b","v":1}`, 7000},
			{"c1", `{"g":"c","v":1}`, 7000}, // beyond max_groups
			{"c1", `{"g":"a","v":1}`, 8000},
		},
		hex:     "05807d00000102000306026331730161030200080000000000000000010209643ff000000000000003730131904e06000000000000000001020b6101643ff00000000000000373013106026331730162030200020000000000000000000109643ff0000000000000904e020000000000000000000109643ff00000000000000602633273016103020002000000000000000000010d6f01016b643ff0000000000000904e02000000000000000000010d6f01016b643ff0000000000000020c807d04e05d0108b06d0106b06d",
		earlier: "01807d00000102000306026331730161030200080000000000000000010209643ff000000000000003730131904e06000000000000000001020b6101643ff00000000000000373013106026331730162030200020000000000000000000109643ff0000000000000904e020000000000000000000109643ff00000000000000602633273016103020002000000000000000000010d6f01016b643ff0000000000000904e02000000000000000000010d6f01016b643ff0000000000000",
	},
	{
		name:   "avg and max tumbling without group",
		fields: `"aggregate":{"fn":"avg","path":"$.v"},"window":{"size":"1s"},"threshold":{"op":">=","value":2},"alert":{"suppress":"0s"}`,
		events: []in{
			{"c1", `{"v":1}`, 100},
			{"c1", `{"v":4}`, 900},
			{"c2", `{"v":1}`, 1200},
			{"c1", `{"v":1}`, 1500},
		},
		hex:     "05b817000000000002030263310301d00f02000000000000f03f00030263320301d00f02000000000000f03f000106b8170104e012",
		earlier: "01b817000000000002030263310301d00f02000000000000f03f00030263320301d00f02000000000000f03f00",
	},
	{
		name:   "max hopping, one group with many windows",
		fields: `"aggregate":{"fn":"max","path":"$.v"},"group_by":["$.g"],"window":{"size":"4s","every":"1s"},"lateness":"10s","threshold":{"op":">=","value":10},"alert":{"suppress":"0s"}`,
		events: []in{
			{"c", `{"g":"x","v":1}`, 5000},
			{"c", `{"g":"x","v":11}`, 2500},
			{"c", `{"g":"x","v":3}`, 9000},
			{"c", `{"g":"y","v":-4}`, 7000},
			{"c", `{"g":"x","v":2}`, 700},
		},
		hex:     "05d08c01000000000002050163730178020def2e020000000000000040029f1f02000000000000004002cf0f040000000000002640030004000000000000264003d00f02000000000000264003a01f04000000000000264003f02e02000000000000f03f02c03e02000000000000f03f02904e02000000000000f03f02e05d02000000000000084002b06d02000000000000084002807d02000000000000084002d08c01020000000000000840020501637301790204c03e0200000000000010c002904e0200000000000010c002e05d0200000000000010c002b06d0200000000000010c0020208f80a04d08c010106b06d",
		earlier: "01d08c01000000000002050163730178020def2e020000000000000040029f1f02000000000000004002cf0f040000000000002640030004000000000000264003d00f02000000000000264003a01f04000000000000264003f02e02000000000000f03f02c03e02000000000000f03f02904e02000000000000f03f02e05d02000000000000084002b06d02000000000000084002807d02000000000000084002d08c01020000000000000840020501637301790204c03e0200000000000010c002904e0200000000000010c002e05d0200000000000010c002b06d0200000000000010c002",
	},
	{
		name:   "lifecycle: suppressed, open and resolved incidents",
		fields: `"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"threshold":2,"alert":{"suppress":"12s","resolve":true}`,
		events: []in{
			{"c1", `{"g":"a"}`, 1000},
			{"c1", `{"g":"a"}`, 6000}, // crosses [0,10s): a's incident opens, to 18s
			{"c2", `{"g":"b"}`, 7000},
			{"c2", `{"g":"b"}`, 8000},  // crosses [0,10s), sent, and [5s,15s), suppressed
			{"c1", `{"g":"a"}`, 19000}, // the watermark closes a's incident: resolved
			{"c1", `{"g":"a"}`, 19500}, // crosses [10s,20s), sent, and [15s,25s), suppressed
			{"c2", `{"g":"b"}`, 19600}, // b's incident still open (to 20s)
		},
		hex: "07a0b202000000000002060263317301610302a09c0104000000000000000001b0ea0104000000000000000001060263327301620302a09c0102000000000000000000b0ea010200000000000000000002000206026331730161d8b00298ec03a09c01c0b80204000000000000004006026332730162807dc0b80200a09c01040000000000000040020ad8b00208f0a802010ca0b202",
	},
	{name: "empty", fields: `"group_by":["$.g"],"window":{"size":"1m"},"threshold":2`, hex: "0000000000000000"},
}

// TestEncodeGolden checks the encoding of fixed states against the bytes recorded for
// them, and that those bytes decode to a state that encodes to them again.
func TestEncodeGolden(t *testing.T) {
	for _, g := range goldenStates {
		t.Run(g.name, func(t *testing.T) {
			r := mustRule(t, g.fields)
			st, _ := run(t, r, g.lim, g.events...)
			got := hex.EncodeToString(st.AppendTo(nil))
			if got != g.hex {
				t.Errorf("encoding changed:\n got %s\nwant %s", got, g.hex)
			}
			want, err := hex.DecodeString(g.hex)
			if err != nil {
				t.Fatal(err)
			}
			dec, rest, err := window.Decode(r, g.lim, want)
			if err != nil || len(rest) != 0 {
				t.Fatalf("Decode of the recorded bytes: %v (%d bytes left)", err, len(rest))
			}
			if again := hex.EncodeToString(dec.AppendTo(nil)); again != g.hex {
				t.Errorf("the recorded bytes decode to a state that encodes as\n%s", again)
			}
			if got, want := openWindows(dec, ""), openWindows(st, ""); len(got) != len(want) || (len(got) > 0 && fmtWins(got) != fmtWins(want)) {
				t.Errorf("decoded windows\n%s\nwant\n%s", fmtWins(got), fmtWins(want))
			}
			if g.earlier != "" {
				b, err := hex.DecodeString(g.earlier)
				if err != nil {
					t.Fatal(err)
				}
				old, rest, err := window.Decode(r, g.lim, b)
				if err != nil || len(rest) != 0 {
					t.Fatalf("Decode of the earlier bytes: %v (%d bytes left)", err, len(rest))
				}
				if got, want := openWindows(old, ""), openWindows(st, ""); fmtWins(got) != fmtWins(want) || old.Stats() != st.Stats() {
					t.Errorf("the earlier bytes decode to windows\n%s\nstats %+v\nwant\n%s\nstats %+v", fmtWins(got), old.Stats(), fmtWins(want), st.Stats())
				}
			}
			if dec.Stats() != st.Stats() || dec.GroupCount() != st.GroupCount() || dec.WindowCount() != st.WindowCount() {
				t.Errorf("decoded stats %+v groups %d windows %d, want %+v %d %d", dec.Stats(), dec.GroupCount(), dec.WindowCount(), st.Stats(), st.GroupCount(), st.WindowCount())
			}
		})
	}
}

func fmtWins(ws []win) string {
	var b []byte
	for _, w := range ws {
		b = fmt.Appendf(b, "%+v\n", w)
	}
	return string(b)
}
