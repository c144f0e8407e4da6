package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// stateFixture is a daemon with an active rule set, enough to encode and restore
// partitions without a broker.
type stateFixture struct {
	d     *Daemon
	rules []*controls.Version
}

func newStateFixture(t testing.TB, nRules int) *stateFixture {
	t.Helper()
	f := &stateFixture{d: &Daemon{rules: controls.NewRegistry()}}
	f.d.cfg.EnsureDefaults()
	f.d.cfg.Logger = f.d.cfg.Logger.With()
	for i := range nRules {
		scope := rule.GlobalScope
		if i%3 == 1 {
			scope = fmt.Sprintf("customer-%d", i)
		}
		r := &rule.Rule{ID: fmt.Sprintf("rule-%d", i), Scope: scope, Version: int64(1 + i%4), Threshold: rule.AtLeast(float64(int64(5 + i))),
			When: &rule.Condition{Path: "$.kind", Op: rule.OpEq, Value: []byte(fmt.Sprintf(`"k%d"`, i))}}
		if err := r.Validate(); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		ar := &controls.Version{Rule: r, Key: r.Key(), ControlOffset: int64(100 + i), Fingerprint: controls.Fingerprint(r), Seq: uint32(i + 1)}
		f.rules = append(f.rules, ar)
	}
	s, err := newActiveSet(f.rules)
	if err != nil {
		t.Fatal(err)
	}
	f.d.active.Store(s)
	return f
}

// partition builds partition pid at offset next with random counters: customers
// customers, each with up to perCustomer counters.
func (f *stateFixture) partition(pid int32, next int64, customers, perCustomer int, seed uint64) *partition {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := newPartition(pid)
	p.next = next
	for i, ar := range f.rules {
		p.starts[ar] = int64(i * 3)
	}
	for c := range customers {
		ci := p.counts.intern(fmt.Sprintf("customer-%07d", c))
		for _, i := range rng.Perm(len(f.rules))[:1+rng.IntN(perCustomer)] {
			p.counts.add(ci, f.rules[i].Seq, 1+rng.Int64N(1<<uint(rng.IntN(40))))
		}
	}
	return p
}

// countsOf lists p's counters as "customer|rule key|version" → count; rules maps
// counter ids to rules.
func countsOf(p *partition, rules ...*controls.Version) map[string]int64 {
	byID := map[uint32]*controls.Version{}
	for _, ar := range rules {
		byID[ar.Seq] = ar
	}
	for ar := range p.starts {
		byID[ar.Seq] = ar
	}
	out := map[string]int64{}
	p.counts.each(func(ci int, id uint32, n int64) {
		ar := byID[id]
		out[fmt.Sprintf("%s|%s|%d", p.counts.name(ci), ar.Key, ar.Rule.Version)] = n
	})
	return out
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	for _, size := range []struct{ customers, perCustomer int }{{500, 6}, {70_000, 1}} { // the second takes reindex's grouped path
		t.Run(fmt.Sprint(size.customers), func(t *testing.T) { snapshotRoundTrip(t, size.customers, size.perCustomer) })
	}
}

func snapshotRoundTrip(t *testing.T, customers, perCustomer int) {
	f := newStateFixture(t, 12)
	orig := f.partition(3, 12345, customers, perCustomer, 1)
	body, counters := orig.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))
	data := sealState(nil, body, stateVersion)
	got, err := f.d.partitionFromSnapshot(3, data, map[int32]logBound{3: {start: 0, end: 20000}})
	if err != nil {
		t.Fatal(err)
	}
	if got.next != orig.next {
		t.Fatalf("next = %d, want %d", got.next, orig.next)
	}
	want, have := countsOf(orig, f.rules...), countsOf(got, f.rules...)
	if len(want) != counters || len(have) != len(want) {
		t.Fatalf("restored %d counters, encoded %d, original %d", len(have), counters, len(want))
	}
	for k, n := range want {
		if have[k] != n {
			t.Fatalf("counter %s = %d, want %d", k, have[k], n)
		}
	}
	for ci := range orig.counts.custs.len() { // every customer is found through the rebuilt table
		name := orig.counts.name(ci)
		if got.counts.find(name) < 0 {
			t.Fatalf("customer %s not found after restore", name)
		}
	}
	for ar, start := range orig.starts {
		if got.starts[ar] != start {
			t.Fatalf("start of %s = %d, want %d", ar.Key, got.starts[ar], start)
		}
	}
	if per := float64(len(data)) / float64(counters); per > 64 {
		t.Fatalf("%.1f bytes per counter, target ≤ 64", per)
	}
}

// A restored snapshot keeps only counters of rule versions still active in exactly the
// same form; rules it does not know start at its offset.
func TestSnapshotRestoreOntoChangedRules(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 4)
	orig := f.partition(0, 500, 50, 4, 2)
	data := sealState(nil, must(orig.encodeState("events", "hindsight-live", time.Now())), stateVersion)

	// Rule 1 was replaced by a new version (same id, new control), rule 2 deleted, and a
	// new rule arrived.
	s := f.d.active.Load()
	var vs []*controls.Version
	add := func(ar *controls.Version) { vs = append(vs, ar) }
	add(f.rules[0])
	add(f.rules[3])
	v2 := *f.rules[1].Rule
	v2.Version++
	replaced := &controls.Version{Rule: &v2, Key: v2.Key(), ControlOffset: 900, Fingerprint: controls.Fingerprint(&v2), Seq: 900}
	add(replaced)
	fresh := &rule.Rule{ID: "new", Scope: rule.GlobalScope, Version: 1, Threshold: rule.AtLeast(2), When: &rule.Condition{Path: "$.x", Op: rule.OpExists}}
	if err := fresh.Validate(); err != nil {
		t.Fatal(err)
	}
	newRule := &controls.Version{Rule: fresh, Key: fresh.Key(), ControlOffset: 901, Fingerprint: controls.Fingerprint(fresh), Seq: 901}
	add(newRule)
	next, err := newActiveSet(vs)
	if err != nil {
		t.Fatal(err)
	}
	f.d.active.Store(next)
	_ = s

	got, err := f.d.partitionFromSnapshot(0, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for k, n := range countsOf(orig, f.rules...) {
		if strings.Contains(k, "|"+f.rules[0].Key.String()+"|") || strings.Contains(k, "|"+f.rules[3].Key.String()+"|") {
			want[k] = n
		}
	}
	have := countsOf(got, f.rules...)
	if len(have) != len(want) {
		t.Fatalf("restored %d counters, want %d (only the unchanged rules')", len(have), len(want))
	}
	for k, n := range want {
		if have[k] != n {
			t.Fatalf("counter %s = %d, want %d", k, have[k], n)
		}
	}
	if got.starts[f.rules[0]] != orig.starts[f.rules[0]] || got.starts[replaced] != 500 || got.starts[newRule] != 500 {
		t.Fatalf("starts: kept %d (want %d), replaced %d and new %d (want the snapshot's offset 500)",
			got.starts[f.rules[0]], orig.starts[f.rules[0]], got.starts[replaced], got.starts[newRule])
	}
	if _, ok := got.starts[f.rules[2]]; ok {
		t.Fatal("the deleted rule is still counted")
	}
}

func must(b []byte, _ int) []byte { return b }

func TestSnapshotRefusals(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 3)
	src := f.partition(1, 77, 20, 3, 3)
	src.topicID = [16]byte{1, 2, 3}
	good := sealState(nil, must(src.encodeState("events", "hindsight-live", time.Now())), stateVersion)
	withVersion := func(v uint16) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint16(b[4:], v)
		// What a build of that version writes: its checksum matches. Left as it was,
		// the frame is damage, and reported as such.
		n := len(b) - stateTrailerLen
		binary.LittleEndian.PutUint32(b[n:], crc32.Checksum(b[:n], crcTable))
		return b
	}
	// A frame whose compression byte names no codec this build has, checksum intact
	// (a later build's other codec): decompressed as S2 regardless, it was restored.
	otherCodec := append([]byte(nil), good...)
	otherCodec[6] = 2
	n := len(otherCodec) - stateTrailerLen
	binary.LittleEndian.PutUint32(otherCodec[n:], crc32.Checksum(otherCodec[:n], crcTable))
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	cases := []struct {
		name   string
		data   []byte
		pid    int32
		bounds map[int32]logBound
		is     error
		msg    string
	}{
		{"newer encoding", withVersion(9), 1, nil, ErrStateVersion, "encoding version 9; this build reads versions 1 to 8"},
		{"older encoding", withVersion(0), 1, nil, ErrStateVersion, "encoding version 0"},
		{"flipped bit", flipped, 1, nil, ErrStateCorrupt, "checksum mismatch"},
		{"unknown compression", otherCodec, 1, nil, ErrStateCorrupt, "unknown compression 2"},
		{"truncated", good[:len(good)-9], 1, nil, ErrStateCorrupt, "checksum"},
		{"cut after the magic", good[:10], 1, nil, ErrStateCorrupt, "truncated (10 bytes"},
		{"version bit flipped", func() []byte { b := append([]byte(nil), good...); b[5] ^= 1; return b }(), 1, nil, ErrStateCorrupt, "checksum mismatch"},
		{"not a snapshot", []byte("PAR1 certainly not a snapshot"), 1, nil, ErrStateCorrupt, "bad magic"},
		{"empty", nil, 1, nil, ErrStateCorrupt, "bad magic"},
		{"other partition", good, 2, nil, nil, "not of events partition 2"},
		{"past the log's end", good, 1, map[int32]logBound{1: {start: 0, end: 50}}, nil, "outside partition 1's log [0, 50]"},
		{"events deleted since", good, 1, map[int32]logBound{1: {start: 100, end: 500}}, nil, "outside partition 1's log [100, 500]"},
		// The topic deleted and made again: its log fits the snapshot's offset, but it
		// is another log.
		{"topic made again", good, 1, map[int32]logBound{1: {start: 0, end: 500, topicID: [16]byte{9}}}, nil, "the topic was deleted and made again"},
	}
	// The same topic, or one whose id the brokers do not give, takes it.
	for _, id := range [][16]byte{{1, 2, 3}, {}} {
		if _, err := f.d.partitionFromSnapshot(1, good, map[int32]logBound{1: {start: 0, end: 500, topicID: id}}); err != nil {
			t.Errorf("topic id %x: %v", id, err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.d.partitionFromSnapshot(tc.pid, tc.data, tc.bounds)
			if err == nil {
				t.Fatal("restored; want a refusal")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func FuzzDecodeState(f *testing.F) {
	fx := newStateFixture(f, 3)
	body, _ := fx.partition(0, 9, 5, 3, 4).encodeState("events", "g", time.Unix(1, 0))
	f.Add(body)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		customers := 0
		h, err := decodeState(body, stateVersion, func(h *stateHeader) (func([]byte, []stateCount), error) {
			return func([]byte, []stateCount) { customers++ }, nil
		})
		if err == nil && customers != h.Customers {
			t.Fatalf("decoded %d customers, header says %d", customers, h.Customers)
		}
		if err != nil && !errors.Is(err, ErrStateCorrupt) {
			t.Fatalf("error %v is not ErrStateCorrupt", err)
		}
		// Framed, the body must survive sealing and opening unchanged.
		if out, v, err := openState(sealState(nil, body, stateVersion), DefaultMaxSnapshotBytes); err != nil || string(out) != string(body) || v != stateVersion {
			t.Fatalf("seal/open changed the body: %v", err)
		}
	})
}

// BenchmarkSnapshot and BenchmarkRestore measure the state target (docs/architecture.md, "Targets"): 10M
// (customer, rule) counters snapshotted and restored in ≤ 2 s each, ≤ 64 bytes per
// counter. The state is one partition's: 1M customers with 10 counters each (shape
// "10x1M"), or 10M customers with one each ("1x10M", the worst case for per-customer
// overhead). -short uses a tenth of it.
func BenchmarkSnapshot(b *testing.B) {
	for _, shape := range stateShapes(b) {
		b.Run(shape.name, func(b *testing.B) {
			f, p := shape.build(b)
			_ = f
			var data []byte
			var counters int
			var stalled time.Duration
			var bufs stateBuffers
			var sealed []byte
			for b.Loop() {
				body, n, stall := snapshotOnce(p, &bufs)
				stalled += stall
				data, counters = sealState(sealed[:0], body, stateVersion), n
				sealed = data
			}
			b.ReportMetric(float64(len(data))/float64(counters), "bytes/counter")
			b.ReportMetric(float64(stalled.Microseconds())/1000/float64(b.N), "stall-ms/op")
			b.ReportMetric(float64(counters), "counters")
		})
	}
}

// snapshotOnce encodes p's state as snapshotPartition does, in bufs (the buffers of
// the snapshot before), and returns the body, its counters and how long the partition's
// events waited: while the head is written, the window states copied and the counters
// frozen; the rest runs beside them.
func snapshotOnce(p *partition, bufs *stateBuffers) (body []byte, counters int, stalled time.Duration) {
	t0 := time.Now()
	p.mu.Lock()
	bufs.body = bufs.body[:0]
	enc := p.beginState("events", "hindsight-live", time.Now(), bufs, nil)
	p.mu.Unlock()
	stalled = time.Since(t0)
	body, counters = enc.finish()
	bufs.body = body
	p.mu.Lock()
	p.counts.thaw()
	p.mu.Unlock()
	return body, counters, stalled
}

func BenchmarkRestore(b *testing.B) {
	for _, shape := range stateShapes(b) {
		b.Run(shape.name, func(b *testing.B) {
			f, p := shape.build(b)
			body, counters := p.encodeState("events", "hindsight-live", time.Now())
			data := sealState(nil, body, stateVersion)
			p = nil
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var got *partition
			for b.Loop() {
				got = nil
				var err error
				if got, err = f.d.partitionFromSnapshot(0, data, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			if got.counterCount() != counters {
				b.Fatalf("restored %d counters of %d", got.counterCount(), counters)
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(counters), "heap-bytes/counter")
			b.ReportMetric(float64(got.counts.footprint())/float64(counters), "store-bytes/counter")
			b.ReportMetric(float64(len(data))/float64(counters), "bytes/counter")
			runtime.KeepAlive(got)
		})
	}
}

type stateShape struct {
	name  string
	build func(b *testing.B) (*stateFixture, *partition)
}

func stateShapes(b *testing.B) []stateShape {
	scale := 1
	if testing.Short() {
		scale = 10
	}
	mk := func(rules, customers int) func(b *testing.B) (*stateFixture, *partition) {
		return func(b *testing.B) (*stateFixture, *partition) {
			f := newStateFixture(b, rules)
			p := newPartition(0)
			p.next = 1 << 30
			rng := rand.New(rand.NewPCG(1, 2))
			for i, ar := range f.rules {
				p.starts[ar] = int64(i)
			}
			p.counts.sized(customers, customers*rules, customers*15)
			for c := range customers {
				ci := p.counts.intern(fmt.Sprintf("tenant-%08d", c))
				for i := range rules {
					p.counts.add(ci, f.rules[i].Seq, 1+rng.Int64N(1000))
				}
			}
			return f, p
		}
	}
	return []stateShape{
		{"10x1M", mk(10, 1_000_000/scale)},
		{"1x10M", mk(1, 10_000_000/scale)},
	}
}

// FuzzOpenState: any bytes handed to restore are either a snapshot or refused with an
// error; nothing panics.
func FuzzOpenState(f *testing.F) {
	fx := newStateFixture(f, 3)
	good := sealState(nil, must(fx.partition(0, 9, 5, 3, 4).encodeState("events", "hindsight-live", time.Unix(1, 0))), stateVersion)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("HSPS\x01\x00\x01\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := fx.d.partitionFromSnapshot(0, data, nil)
		if err == nil && p.next < 0 {
			t.Fatalf("restored a partition without an offset")
		}
	})
}

// TestSnapshotEncodesTheFrozenState: a snapshot encodes the counters as they were when
// it froze them, while the event loop goes on changing them — existing counters,
// new ones, new customers, dropped rules — and after the thaw the store holds every
// change. Run with -race, it also shows that the encoder and the writer touch no
// memory in common.
func TestSnapshotEncodesTheFrozenState(t *testing.T) {
	t.Parallel()
	for _, size := range []struct{ customers, perCustomer int }{{300, 4}, {20_000, 3}} { // several chunks of each
		t.Run(fmt.Sprint(size.customers), func(t *testing.T) {
			f := newStateFixture(t, 12)
			p := f.partition(3, 500, size.customers, size.perCustomer, 2)
			frozen := countsOf(p, f.rules...)
			p.mu.Lock()
			enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
			p.mu.Unlock()

			type result struct {
				body     []byte
				counters int
			}
			done := make(chan result)
			go func() { b, n := enc.finish(); done <- result{b, n} }()
			rng := rand.New(rand.NewPCG(9, 9))
			p.mu.Lock()
			for i := range 50_000 {
				switch k := rng.IntN(100); {
				case k < 70: // an existing customer's counter, existing or new (by name: a drop may renumber the customers)
					ci := p.counts.intern(fmt.Sprintf("customer-%07d", rng.IntN(size.customers)))
					p.counts.add(ci, f.rules[rng.IntN(len(f.rules))].Seq, 1)
				case k < 99: // a new customer
					ci := p.counts.intern(fmt.Sprintf("new-%d", i))
					p.counts.add(ci, f.rules[rng.IntN(len(f.rules))].Seq, 3)
				default:
					gone := f.rules[rng.IntN(len(f.rules))].Seq
					p.counts.drop(func(id uint32) bool { return id == gone })
				}
			}
			after := countsOf(p, f.rules...)
			p.mu.Unlock()
			res := <-done
			p.mu.Lock()
			p.counts.thaw()
			if got := countsOf(p, f.rules...); !maps.Equal(got, after) {
				t.Errorf("the thaw changed the store: %d counters, %d before", len(got), len(after))
			}
			p.mu.Unlock()

			got, err := f.d.partitionFromSnapshot(3, sealState(nil, res.body, stateVersion), map[int32]logBound{3: {start: 0, end: 20000}})
			if err != nil {
				t.Fatal(err)
			}
			if have := countsOf(got, f.rules...); res.counters != len(frozen) || !maps.Equal(have, frozen) {
				t.Fatalf("the snapshot holds %d counters (%d said), the frozen store %d; equal: %v", len(have), res.counters, len(frozen), maps.Equal(have, frozen))
			}
			if maps.Equal(after, frozen) {
				t.Fatal("the writes changed nothing: the test shows nothing")
			}
		})
	}
}

// TestSnapshotEncodesTheFrozenWindows: a snapshot encodes each window state as it was
// under the lock, while the event loop goes on changing it beside the encoder (new
// groups, windows closed, groups dropped). Run with -race, it also shows that the
// encoder reads no memory the states write.
func TestSnapshotEncodesTheFrozenWindows(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 3)
	p := f.partition(2, 9000, 50, 2, 5)
	w := addWindowRules(t, p, windowRuleTexts[:2])
	add := func(n int) { w.feed(t, n, 3000) }
	add(5000)

	p.mu.Lock()
	want := map[string][]byte{}
	for ar, ws := range p.windows {
		want[ar.Rule.ID] = ws.AppendTo(nil)
	}
	enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
	p.mu.Unlock()
	done := make(chan []byte)
	go func() { b, _ := enc.finish(); done <- b }()
	p.mu.Lock()
	add(5000)
	changed := 0
	for ar, ws := range p.windows {
		if string(ws.AppendTo(nil)) != string(want[ar.Rule.ID]) {
			changed++
		}
	}
	p.mu.Unlock()
	body := <-done
	p.mu.Lock()
	p.counts.thaw()
	p.mu.Unlock()
	if changed != len(w.states) {
		t.Fatalf("the events after the freeze changed %d of %d states: the test shows nothing", changed, len(w.states))
	}

	h, err := decodeState(body, stateVersion, func(*stateHeader) (func([]byte, []stateCount), error) {
		return func([]byte, []stateCount) {}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, sr := range h.Rules {
		if w, ok := want[sr.ID]; ok {
			got++
			if string(sr.Window) != string(w) {
				t.Errorf("rule %s: the snapshot's window state is %d bytes, the state's when frozen %d", sr.ID, len(sr.Window), len(w))
			}
		}
	}
	if got != len(w.states) || len(h.Rules) != len(f.rules)+len(w.states) {
		t.Fatalf("the snapshot lists %d rules, %d of them windowed; want %d and %d", len(h.Rules), got, len(f.rules)+len(w.states), len(w.states))
	}
}

// windowRuleTexts are windowed rules for snapshot tests: tumbling, hopping (groups of
// several cells), and with an alert lifecycle.
var windowRuleTexts = []string{
	`{"id":"w-sum","scope":"*","version":1,"when":{"path":"$.g","op":"exists"},"group_by":["$.g"],"aggregate":{"fn":"sum","path":"$.v"},"window":{"size":"10s"},"threshold":1e9}`,
	`{"id":"w-hop","scope":"*","version":1,"when":{"path":"$.g","op":"exists"},"group_by":["$.g"],"window":{"size":"10s","every":"2s"},"threshold":1e9}`,
	`{"id":"w-min","scope":"*","version":1,"when":{"path":"$.g","op":"exists"},"group_by":["$.g"],"aggregate":{"fn":"min","path":"$.v"},"window":{"size":"1m"},"threshold":{"op":"<","value":1},"alert":{"suppress":"5m"}}`,
}

// windowFeed feeds the same random events to a partition's window states, as its
// worker would.
type windowFeed struct {
	states []*window.State
	doc    *jsonpath.Document
	rng    *rand.Rand
	now    int64
	offset int64
}

// addWindowRules gives p a window state for each rule text.
func addWindowRules(tb testing.TB, p *partition, texts []string) *windowFeed {
	tb.Helper()
	w := &windowFeed{doc: jsonpath.NewDocument(), rng: rand.New(rand.NewPCG(3, 3)), now: 1_700_000_000_000}
	for i, text := range texts {
		r, err := rule.ParseRule([]byte(text))
		if err != nil {
			tb.Fatal(err)
		}
		ar := &controls.Version{Rule: r, Key: r.Key(), ControlOffset: int64(200 + i), Fingerprint: controls.Fingerprint(r), Seq: uint32(100 + i)}
		ws := window.New(r, window.DefaultLimits)
		p.starts[ar] = 0
		p.setWindow(ar, ws)
		w.states = append(w.states, ws)
	}
	return w
}

// feed adds n events, about 20 per second, to every state, their groups drawn from
// groups.
func (w *windowFeed) feed(tb testing.TB, n, groups int) {
	for range n {
		w.now += w.rng.Int64N(100)
		if err := w.doc.Reset(fmt.Appendf(nil, `{"g":"g%d","v":%d}`, w.rng.IntN(groups), w.rng.IntN(100))); err != nil {
			tb.Fatal(err)
		}
		ev := window.Event{Customer: fmt.Sprint("c", w.rng.IntN(4)), Doc: w.doc, Time: time.UnixMilli(w.now), Offset: w.offset}
		for _, ws := range w.states {
			ws.Add(&ev, func(window.Crossing) {})
		}
		w.offset++
	}
}

// BenchmarkSnapshotWindows measures a snapshot's stall (stall-ms/op: the partition's
// events wait) and whole encoding of a partition with three windowed rules of 100,000
// groups each (-short: 10,000), the snapshot target's case for window states: a stall
// of at most 10 ms.
func BenchmarkSnapshotWindows(b *testing.B) {
	groups := 100_000
	if testing.Short() {
		groups /= 10
	}
	f := newStateFixture(b, 3)
	p := f.partition(0, 9000, 10, 2, 5)
	w := addWindowRules(b, p, windowRuleTexts)
	// Every group in one window of each rule: 100,000 groups inside 10 s.
	w.rng = rand.New(rand.NewPCG(1, 1))
	for i := range groups {
		if i%20 == 0 {
			w.now++
		}
		if err := w.doc.Reset(fmt.Appendf(nil, `{"g":"g%d","v":%d}`, i, i%100)); err != nil {
			b.Fatal(err)
		}
		ev := window.Event{Customer: "c1", Doc: w.doc, Time: time.UnixMilli(w.now), Offset: int64(i)}
		for _, ws := range w.states {
			ws.Add(&ev, func(window.Crossing) {})
		}
	}
	for _, ws := range w.states {
		if ws.GroupCount() != groups {
			b.Fatalf("%d groups, want %d", ws.GroupCount(), groups)
		}
	}
	var bufs stateBuffers
	var stalled time.Duration
	var body []byte
	for b.Loop() {
		var stall time.Duration
		body, _, stall = snapshotOnce(p, &bufs)
		stalled += stall
	}
	b.ReportMetric(float64(stalled.Microseconds())/1000/float64(b.N), "stall-ms/op")
	b.ReportMetric(float64(len(body))/float64(3*groups), "bytes/group")
}
