package window_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// benchDocs are documents opened once (parsing is the ingest's cost, not Add's): n
// groups, each with a number.
func benchDocs(b *testing.B, n int) []*jsonpath.Document {
	docs := make([]*jsonpath.Document, n)
	for i := range docs {
		docs[i] = jsonpath.NewDocument()
		if err := docs[i].Reset(fmt.Appendf(nil, `{"g":"group-%d","v":%d,"other":"x"}`, i, i%100)); err != nil {
			b.Fatal(err)
		}
	}
	return docs
}

// BenchmarkAdd is the cost of one matched event: windowed aggregates per group against
// the running-total count that plain rules are (here through a State too).
func BenchmarkAdd(b *testing.B) {
	docs := benchDocs(b, 1000)
	for _, bc := range []struct{ name, fields string }{
		{"count/running", `"threshold":1e15`},
		{"count/group_by/tumbling", `"group_by":["$.g"],"window":{"size":"1m"},"threshold":1e15`},
		{"sum/group_by/tumbling", `"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m"},"threshold":1e15`},
		{"sum/group_by/hopping-6", `"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m","every":"10s"},"threshold":1e15`},
		{"avg/group_by/tumbling", `"aggregate":{"fn":"avg","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m"},"threshold":1e15`},
		{"count_distinct/group_by/tumbling", `"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m"},"threshold":1e15`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := window.New(mustRule(b, bc.fields), window.Limits{})
			ev := window.Event{Customer: "customer-1"}
			cross := func(window.Crossing) {}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// 10 ms apart: windows open and close as they do in a steady stream.
				ev.Doc, ev.Time = docs[i%len(docs)], time.UnixMilli(int64(i)*10)
				st.Add(&ev, cross)
				i++
			}
		})
	}
}

// BenchmarkWindowMemory reports the heap one open (group, window) costs, state and
// index included, with about 100,000 of them: as many groups with one window each
// (tumbling, one event each); a tenth of the groups with ten windows each (hopping, one
// event each, so that the ten share a cell); and groups whose hopping windows all saw
// different events (ten events a minute apart: 19 windows, 19 cells). The budget is
// 64 B for count, sum, min, max and avg; count_distinct (one value per event here) is
// listed for reference, its sets being the bulk of it.
func BenchmarkWindowMemory(b *testing.B) {
	const cells = 100_000
	for _, fn := range []string{"count", "sum", "min", "max", "avg", "count_distinct"} {
		agg := `{"fn":"count"}`
		if fn != "count" {
			agg = fmt.Sprintf(`{"fn":%q,"path":"$.v"}`, fn)
		}
		for _, layout := range []struct {
			name   string
			window string
			groups int
			events int // per group, a minute apart
		}{
			{"1-window-per-group", `{"size":"1m"}`, cells, 1},
			{"10-windows-per-group", `{"size":"10m","every":"1m"}`, cells / 10, 1},
			{"19-distinct-windows-per-group", `{"size":"10m","every":"1m"}`, cells / 19, 10},
		} {
			b.Run(fn+"/"+layout.name, func(b *testing.B) {
				r := mustRule(b, fmt.Sprintf(`"aggregate":%s,"group_by":["$.g"],"window":%s,"lateness":"1h","threshold":1e15`, agg, layout.window))
				// Documents made first, so that only the state is measured.
				raw := make([][]byte, layout.groups*layout.events)
				for i := range raw {
					raw[i] = []byte(`{"g":` + strconv.Itoa(i%layout.groups) + `,"v":` + strconv.Itoa(i/layout.groups) + `.5}`)
				}
				doc := jsonpath.NewDocument()
				var perCell float64
				for b.Loop() {
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					st := window.New(r, window.Limits{MaxGroups: cells})
					ev := window.Event{Customer: "c1", Doc: doc}
					for i, text := range raw {
						if err := doc.Reset(text); err != nil {
							b.Fatal(err)
						}
						// Times in the tenth minute and on: each group gets every window
						// that covers it, the later events a minute apart.
						ev.Time = time.UnixMilli(int64(9*60_000 + (i/layout.groups)*60_000 + i%layout.groups%60_000))
						st.Add(&ev, func(window.Crossing) {})
					}
					runtime.GC()
					runtime.ReadMemStats(&after)
					want := layout.groups * min(layout.events+9, 10*layout.events)
					if layout.window == `{"size":"1m"}` {
						want = layout.groups
					}
					if st.WindowCount() != want || st.Degraded() != "" {
						b.Fatalf("%d windows (%q), want %d", st.WindowCount(), st.Degraded(), want)
					}
					perCell = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(st.WindowCount())
					runtime.KeepAlive(st)
				}
				b.ReportMetric(perCell, "B/window")
			})
		}
	}
}

// BenchmarkAppendTo is the snapshot encoding of one windowed rule's state, which a
// snapshot writes under its partition's lock: 100,000 groups with one open window each
// (the default --max-groups), sum per group.
func BenchmarkAppendTo(b *testing.B) {
	const groups = 100_000
	for _, agg := range []struct{ name, fields string }{
		{"sum", `"aggregate":{"fn":"sum","path":"$.v"}`},
		// Two values per group: the sets are maps, which Freeze cannot copy flat.
		{"count_distinct", `"aggregate":{"fn":"count_distinct","path":"$.v"}`},
	} {
		b.Run(agg.name, func(b *testing.B) {
			r := mustRule(b, agg.fields+`,"group_by":["$.g"],"window":{"size":"1h"},"threshold":1e15`)
			st := window.New(r, window.Limits{MaxGroups: groups})
			doc := jsonpath.NewDocument()
			ev := window.Event{Customer: "c1", Doc: doc}
			for i := range 2 * groups {
				if err := doc.Reset([]byte(`{"g":"group-` + strconv.Itoa(i%groups) + `","v":` + strconv.Itoa(i%100) + `}`)); err != nil {
					b.Fatal(err)
				}
				ev.Time, ev.Offset = time.UnixMilli(int64(i)), int64(i)
				st.Add(&ev, func(window.Crossing) {})
			}
			if st.GroupCount() != groups {
				b.Fatalf("%d groups, want %d", st.GroupCount(), groups)
			}
			var buf []byte
			b.Run("whole", func(b *testing.B) {
				for b.Loop() {
					buf = st.AppendTo(buf[:0])
				}
				b.ReportMetric(float64(len(buf))/groups, "bytes/group")
			})
			// The live daemon freezes a state under its partition's lock, then encodes
			// the copy off it; both reuse their buffers.
			var f window.Frozen
			b.Run("freeze", func(b *testing.B) {
				for b.Loop() {
					st.Freeze(&f)
				}
			})
			b.Run("frozen", func(b *testing.B) {
				for b.Loop() {
					st.Freeze(&f)
					buf = f.Draft().AppendTo(buf[:0])
				}
			})
		})
	}
}

// BenchmarkParseTime: an RFC 3339 event time as ParseTime reads it (its grammar checked,
// then time.Parse), against time.Parse alone in the same run.
func BenchmarkParseTime(b *testing.B) {
	v := jsonValue(`"2024-05-06T07:30:00.123Z"`)
	b.Run("ParseTime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := window.ParseTime(v); !ok {
				b.Fatal("not a time")
			}
		}
	})
	s := v.Str()
	b.Run("time.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
