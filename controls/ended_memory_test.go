package controls

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestEndedVersionsCostLessThanTheRulesThemselves: rules that resolve their incidents,
// each replaced 16 times (a threshold tuned by a script, say). The fold remembers each
// key's last --max-ended-versions (16) ended versions so that a restored partition can
// resolve their incidents. It kept each as the whole compiled rule (its index, an `in`
// list's sets): 800 ended versions of 50 rules held 15.8 times the active rules'
// memory, up to 16 x --max-rules compiled rules, shown nowhere. What an ended version
// is needed for (naming it by control offset and fingerprint, its alert fields, a rare
// replay on restore) does not need the compiled rule kept: it keeps its JSON,
// deflated, and is compiled again when used.
func TestEndedVersionsCostLessThanTheRulesThemselves(t *testing.T) {
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapInuse)
	}
	var members []string
	for i := range 500 {
		members = append(members, fmt.Sprintf("%q", fmt.Sprintf("member-%04d", i)))
	}
	in := strings.Join(members, ",")
	upsert := func(id string, version int) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x","op":"in","value":[%s]},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version, in)
	}
	// 16 ended versions of each rule (max_ended_versions); under -short 5, which a
	// compiled rule kept per ended version still puts at 5 times the active rules'
	// memory, past the bound of 2: parsing the 850 upserts of 7 KB was the package's
	// longest test (2.8 s).
	const keys = 50
	versions := 17
	if testing.Short() {
		versions = 6
	}
	g := NewRegistry()
	off := int64(0)
	apply := func(k, v int) {
		off++
		if st, msg := g.Apply(Decode(fmt.Appendf(nil, "*/r%d", k), upsert(fmt.Sprintf("r%d", k), v), 0, off, time.Time{})); st != contract.ControlOK {
			t.Fatal(st, msg)
		}
	}
	h0 := heap()
	for k := range keys {
		apply(k, 1)
	}
	h1 := heap()
	for v := 2; v <= versions; v++ {
		for k := range keys {
			apply(k, v)
		}
	}
	h2 := heap()
	held := 0
	for _, e := range g.ended.m {
		held += len(e.v)
	}
	active, ended := h1-h0, h2-h1
	t.Logf("rule JSON %d bytes; %d active rules: %d KB of heap; %d ended versions held: %d KB more", len(upsert("r0", 1)), g.Len(), active>>10, held, ended>>10)
	if ended > 2*active {
		t.Errorf("%d ended versions of %d rules hold %d KB, %.1f times the %d KB of the active rules themselves: each ended version keeps its whole compiled rule",
			held, keys, ended>>10, float64(ended)/float64(active), active>>10)
	}
	runtime.KeepAlive(g)
}

// TestEndedVersionCompiledAgain: an ended version no one holds any more is compiled
// again from its JSON when asked for, the same version (key, offsets, fingerprint, seq,
// rule); while one is held, Ended and EndedAfter return that very *Version, so that
// callers keying state by it (a restore's replays) see one version.
func TestEndedVersionCompiledAgain(t *testing.T) {
	g := NewRegistry()
	k := contract.ControlOK
	for v := 1; v <= 2; v++ {
		if st, msg := g.Apply(Decode([]byte("*/r"), fmt.Appendf(nil, `{"op":"upsert","rule":{"id":"r","scope":"*","version":%d,"threshold":1,"when":{"path":"$.x","op":"in","value":["a","b"]},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, v), 0, int64(v), time.Unix(int64(v), 0))); st != k {
			t.Fatal(st, msg)
		}
	}
	held := g.EndedAfter(0)
	if len(held) != 1 {
		t.Fatalf("EndedAfter(0) = %d versions, want 1", len(held))
	}
	v1 := held[0]
	want := *v1
	wantRule := *v1.Rule
	if n, b := g.EndedHeld(); n != 1 || b <= 0 {
		t.Errorf("EndedHeld = %d versions, %d bytes; want 1 and its JSON", n, b)
	}
	if again, ok := g.Ended(v1.Key, v1.ControlOffset, v1.Fingerprint); !ok || again != v1 {
		t.Errorf("Ended while the version is held = %p, %v; want the same *Version %p", again, ok, v1)
	}
	wp := weak.Make(v1)
	held, v1 = nil, nil
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil {
		t.Fatal("the ended version is still held after the test let it go")
	}
	got, ok := g.Ended(want.Key, want.ControlOffset, want.Fingerprint)
	if !ok {
		t.Fatal("the ended version, no longer held, is not found")
	}
	if got.Key != want.Key || got.ControlOffset != want.ControlOffset || got.Fingerprint != want.Fingerprint || got.Seq != want.Seq ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || got.Rule.Seq != wantRule.Seq || got.Rule.Version != 1 || Fingerprint(got.Rule) != want.Fingerprint || !got.Rule.Resolves() {
		t.Errorf("compiled again: %+v (rule %+v); want %+v (rule %+v)", *got, *got.Rule, want, wantRule)
	}
	for doc, want := range map[string]bool{`{"x":"b"}`: true, `{"x":"c"}`: false} {
		d := jsonpath.NewDocument()
		if err := d.Reset([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if got.Rule.Matches(d) != want {
			t.Errorf("the rule compiled again matches %s: %v, want %v", doc, !want, want)
		}
	}
}
