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
	"github.com/hindsightdev/hindsight/rule"
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
//
// What the registry holds is asserted, not the heap's size (which other goroutines and
// the collector's timing move): once the test lets them go, no compiled rule of an
// ended version is reachable (each is weakly watched from its compilation), and what
// EndedHeld reports, the deflated JSON, is under half the JSON of those versions.
func TestEndedVersionsCostLessThanTheRulesThemselves(t *testing.T) {
	var members []string
	for i := range 500 {
		members = append(members, fmt.Sprintf("%q", fmt.Sprintf("member-%04d", i)))
	}
	in := strings.Join(members, ",")
	upsert := func(id string, version int) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x","op":"in","value":[%s]},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version, in)
	}
	// 16 ended versions of each rule (max_ended_versions) of 50; under -short 5 of 10:
	// one compiled rule kept is as reachable as 800, and parsing the 850 upserts of 7 KB
	// was the package's longest test (2.8 s).
	keys, versions := 50, 17
	if testing.Short() {
		keys, versions = 10, 6
	}
	g := NewRegistry()
	off := int64(0)
	// compiled watches every compiled rule the registry made, by version; the test holds
	// none of them once the loop is done.
	compiled := map[int][]weak.Pointer[rule.Rule]{}
	apply := func(k, v int) {
		off++
		key := rule.Key{Scope: "*", ID: fmt.Sprintf("r%d", k)}
		if st, msg := g.Apply(Decode(fmt.Appendf(nil, "*/r%d", k), upsert(key.ID, v), 0, off, time.Time{})); st != contract.ControlOK {
			t.Fatal(st, msg)
		}
		r, ok := g.Get(key)
		if !ok {
			t.Fatalf("rule %s not active after its upsert", key)
		}
		compiled[v] = append(compiled[v], weak.Make(r))
	}
	for v := 1; v <= versions; v++ {
		for k := range keys {
			apply(k, v)
		}
	}
	runtime.GC()
	runtime.GC()
	reachable := 0
	for v := 1; v < versions; v++ {
		for _, w := range compiled[v] {
			if w.Value() != nil {
				reachable++
			}
		}
	}
	held, jsonBytes := g.EndedHeld()
	t.Logf("rule JSON %d bytes; %d active rules; %d ended versions held: %d bytes of deflated JSON, %d compiled rules reachable",
		len(upsert("r0", 1)), g.Len(), held, jsonBytes, reachable)
	if want := keys * (versions - 1); held != want {
		t.Errorf("EndedHeld = %d versions, want %d (%d keys x %d replaced)", held, want, keys, versions-1)
	}
	if reachable > 0 {
		t.Errorf("%d of the %d compiled rules of ended versions are still reachable once no one uses them: each ended version keeps its whole compiled rule",
			reachable, keys*(versions-1))
	}
	if raw := int64(held * len(upsert("r0", 1))); jsonBytes*2 > raw {
		t.Errorf("the %d ended versions hold %d bytes of JSON, over half their %d bytes undeflated", held, jsonBytes, raw)
	}
	for v := range compiled[versions] {
		if compiled[versions][v].Value() == nil {
			t.Fatalf("the active rule r%d was collected: the watch of compiled rules sees nothing", v)
		}
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
