package live

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// BenchmarkEvalMatched is HandleBatch's work per event without the consumer (whose
// batches cannot be built outside ingest): match and count each matched rule, over
// 10,000 rules, under the Seq its rule carries (seq=rule, as the evaluator does) and,
// for comparison, under its version's looked up (seq=lookup). changes is the number of
// controls published since the set was built, which the version lookup may have to
// consult:
//
//	go test -run '^$' -bench EvalMatched -benchmem ./live
func BenchmarkEvalMatched(b *testing.B) {
	const n, customers = 10000, 1000
	rules := workload.Rules(42, n, workload.RulesConfig{Customers: customers, GlobalRules: 50})
	vs := stampedVersions(rules)
	gen := workload.New(7, workload.Config{Customers: customers})
	docs := make([]*jsonpath.Document, 512)
	custs := make([]string, len(docs))
	for i := range docs {
		ev := gen.Next()
		docs[i], custs[i] = jsonpath.NewDocument(), ev.Customer
		if err := docs[i].Reset(ev.JSON); err != nil {
			b.Fatal(err)
		}
	}
	for _, changes := range []int{0, 64} {
		s, err := newActiveSet(vs)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range rules[50 : 50+changes] {
			c := *r
			c.Version++
			c.Seq = uint32(n + i + 1)
			if s, err = s.with([]*controls.Version{{Rule: &c, Key: c.Key(), Seq: c.Seq}}, nil); err != nil {
				b.Fatal(err)
			}
		}
		for _, lookup := range []bool{false, true} {
			name := map[bool]string{false: "rule", true: "lookup"}[lookup]
			b.Run(fmt.Sprintf("changes=%d/seq=%s", changes, name), func(b *testing.B) {
				m := s.set.NewMatcher()
				counts := newCounterStore()
				var matched []*rule.Rule
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					j := i % len(docs)
					matched = m.Match(custs[j], docs[j], matched[:0])
					if len(matched) > 0 {
						ci := counts.intern(custs[j])
						for _, r := range matched {
							if !r.Plain() { // as the evaluator asks first
								continue
							}
							seq := r.Seq
							if lookup {
								seq = s.versionOfMatched(r).Seq
							}
							counts.add(ci, seq, 1)
						}
					}
				}
			})
		}
	}
}

// BenchmarkPartitionAdoptOneControl is what one control costs a partition on top of
// publishing it (BenchmarkActiveSetApplyOneControl): adopting the new set, N rules
// active:
//
//	go test -run '^$' -bench PartitionAdoptOneControl -benchmem ./live
func BenchmarkPartitionAdoptOneControl(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		rules, _, base := benchActiveSet(b, n)
		var err error
		// The sets are published beforehand: the loop measures reconcile alone.
		sets := make([]*activeSet, 512)
		s := base
		for i := range sets {
			c := *rules[50+i%64]
			c.Version += int64(1 + i/64)
			if s, err = s.with([]*controls.Version{{Rule: &c, Key: c.Key(), Seq: uint32(n + i + 1)}}, nil); err != nil {
				b.Fatal(err)
			}
			sets[i] = s
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			d := &Daemon{}
			b.ReportAllocs()
			var p *partition
			for i := 0; b.Loop(); i++ {
				j := i % len(sets)
				if j == 0 {
					b.StopTimer()
					p = newPartition(0)
					p.reconcile(d, base, 1)
					b.StartTimer()
				}
				p.reconcile(d, sets[j], int64(2+i))
			}
		})
	}
}

// BenchmarkMatchedWindow is what finding a matched windowed rule's version and state
// costs HandleBatch, 500 of 1,000 rules windowed: through the partition's state cache
// by the rule (how=cache, matchedWindow) against the active set's map by rule, then the
// cache by version (how=map, as before matchedWindow):
//
//	go test -run '^$' -bench MatchedWindow ./live
func BenchmarkMatchedWindow(b *testing.B) {
	const n, customers = 1000, 100
	rules := workload.Rules(1, n, workload.RulesConfig{Customers: customers, WindowedPercent: 50})
	vs := stampedVersions(rules)
	s, err := newActiveSet(vs)
	if err != nil {
		b.Fatal(err)
	}
	// The windowed rules the events match, in the order the evaluator meets them.
	gen := workload.New(1, workload.Config{Customers: customers})
	m := s.set.NewMatcher()
	doc := jsonpath.NewDocument()
	var matched, windowed []*rule.Rule
	for range 4096 {
		ev := gen.Next()
		if err := doc.Reset(ev.JSON); err != nil {
			b.Fatal(err)
		}
		for _, r := range m.Match(ev.Customer, doc, matched[:0]) {
			if !r.Plain() {
				windowed = append(windowed, r)
			}
		}
	}
	p := newPartition(0)
	for _, v := range vs {
		if !v.Rule.Plain() {
			p.setWindow(v, window.New(v.Rule, window.Limits{}))
		}
	}
	for _, how := range []string{"map", "cache"} {
		b.Run("how="+how, func(b *testing.B) {
			var found int
			for i := 0; b.Loop(); i++ {
				r := windowed[i%len(windowed)]
				var ws *window.State
				if how == "cache" {
					_, ws = p.matchedWindow(s, r)
				} else {
					ws = p.window(s.versionOfMatched(r))
				}
				if ws != nil {
					found++
				}
			}
			if found != b.N {
				b.Fatalf("%d of %d lookups found no state", b.N-found, b.N)
			}
		})
	}
}

// matchedWindow finds the version and state of a matched windowed rule as the set's
// map and the partition's states say, through every change of either: a state made,
// replaced (a hand-off's) or dropped, and a new set in which another version holds the
// rule (which the registry never makes, TestActiveSetRuleSharedByVersions).
func TestMatchedWindowFollowsStatesAndSets(t *testing.T) {
	t.Parallel()
	r := &rule.Rule{ID: "w", Scope: rule.GlobalScope, Version: 1, Threshold: rule.AtLeast(5), When: &rule.Condition{Path: "$.x", Op: rule.OpExists},
		Window: &rule.Window{Size: rule.Duration(time.Minute)}, Seq: 1}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	v1 := &controls.Version{Rule: r, Key: r.Key(), Seq: 1}
	s, err := newActiveSet([]*controls.Version{v1})
	if err != nil {
		t.Fatal(err)
	}
	p := newPartition(0)
	w1, w2 := window.New(r, window.Limits{}), window.New(r, window.Limits{})
	check := func(step string, s *activeSet, wantV *controls.Version, wantW *window.State) {
		t.Helper()
		for range 2 { // the second finds what the first marked
			if v, w := p.matchedWindow(s, r); v != wantV || w != wantW {
				t.Fatalf("%s: version %p and state %p, want %p and %p", step, v, w, wantV, wantW)
			}
		}
	}
	check("no state yet", s, v1, nil)
	p.setWindow(v1, w1)
	check("state made", s, v1, w1)
	p.setWindow(v1, w2)
	check("state replaced", s, v1, w2)
	p.dropWindow(v1)
	check("state dropped", s, v1, nil)
	p.setWindow(v1, w1)
	check("state made again", s, v1, w1)
	v2 := &controls.Version{Rule: r, Key: r.Key(), Seq: 1}
	if s, err = s.with([]*controls.Version{v2}, nil); err != nil {
		t.Fatal(err)
	}
	check("another version of the rule", s, v2, nil)
}

// stampedVersions are versions of rules numbered as a registry numbers them, each rule
// stamped with its version's Seq.
func stampedVersions(rules []*rule.Rule) []*controls.Version {
	vs := make([]*controls.Version, len(rules))
	for i, r := range rules {
		r.Seq = uint32(i + 1)
		vs[i] = &controls.Version{Rule: r, Key: r.Key(), Seq: r.Seq}
	}
	return vs
}
