package live

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// publishFixture is a daemon with a registry, metrics and one idle partition: enough to
// apply controls and publish them without a broker.
type publishFixture struct {
	d      *Daemon
	p      *partition
	offset int64
	pool   []*rule.Rule // rule bodies that controls draw from
}

func newPublishFixture(t testing.TB, seed uint64) *publishFixture {
	t.Helper()
	d := &Daemon{parts: map[int32]*partition{}, rules: controls.NewRegistry()}
	d.cfg.EnsureDefaults()
	d.log = d.cfg.Logger
	d.m = newMetrics(prometheus.NewRegistry())
	s, err := newActiveSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	d.active.Store(s)
	p := newPartition(0)
	p.next = 10
	d.parts[0] = p
	return &publishFixture{d: d, p: p, pool: workload.Rules(seed, 60, workload.RulesConfig{Customers: 4, Nested: true})}
}

// fetch folds recs into the registry as applyControls does (without reporting statuses,
// which needs a broker) and returns the keys of those applied.
func (f *publishFixture) fetch(t testing.TB, recs []controls.Record) []rule.Key {
	t.Helper()
	var changed []rule.Key
	for _, cr := range recs {
		if cr.Err != nil {
			t.Fatalf("record %s: %v", cr.Key, cr.Err)
		}
		if status, _ := f.d.rules.Apply(cr); status == "ok" {
			changed = append(changed, cr.Control.Key())
		}
	}
	return changed
}

func (f *publishFixture) upsert(t testing.TB, k rule.Key, version int64, body *rule.Rule) controls.Record {
	t.Helper()
	r := *body
	r.Scope, r.ID, r.Version = k.Scope, k.ID, version
	js, err := json.Marshal(map[string]any{"op": "upsert", "rule": &r})
	if err != nil {
		t.Fatal(err)
	}
	f.offset++
	return controls.Decode([]byte(k.String()), js, 0, f.offset, time.Now())
}

func (f *publishFixture) remove(k rule.Key) controls.Record {
	f.offset++
	return controls.Decode([]byte(k.String()), nil, 0, f.offset, time.Now())
}

// Publishing a fetch's changes onto the previous active set gives what indexing the
// whole registry gives (the same versions in the three maps, the same matches), for
// random fetches of upserts, stale upserts, deletes of active and unknown rules, and
// rules made and deleted in one fetch; and idle partitions adopt every published set.
func TestPublishRulesAgreesWithFullBuild(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := newPublishFixture(t, seed)
			rng := rand.New(rand.NewPCG(seed, 5))
			f.d.loaded = true
			f.d.publishRules(nil)
			docs, customers := activeDocs(t, seed)
			scopes := []string{rule.GlobalScope, workload.CustomerID(0), workload.CustomerID(1), workload.CustomerID(2)}
			version := map[rule.Key]int64{}
			for step := range 150 {
				var recs []controls.Record
				for range 1 + rng.IntN(5) {
					k := rule.Key{Scope: scopes[rng.IntN(len(scopes))], ID: fmt.Sprintf("r%d", rng.IntN(8))}
					switch rng.IntN(6) {
					case 0, 1:
						recs = append(recs, f.remove(k))
					case 2: // stale: not newer than the active version
						recs = append(recs, f.upsert(t, k, max(1, version[k]), f.pool[rng.IntN(len(f.pool))]))
					default:
						version[k]++
						recs = append(recs, f.upsert(t, k, version[k], f.pool[rng.IntN(len(f.pool))]))
					}
				}
				before := f.d.active.Load()
				builds := testutilValue(t, f.d.m.ruleIndexBuilds)
				if changed := f.fetch(t, recs); len(changed) > 0 {
					f.d.publishRules(changed)
				}
				got := f.d.active.Load()
				want, err := newActiveSet(f.d.rules.Versions())
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("step %d", step)
				sameActive(t, what, got, want, docs, customers)
				published := got != before
				if n := testutilValue(t, f.d.m.ruleIndexBuilds) - builds; published != (n == 1) || n > 1 {
					t.Fatalf("%s: published %v, index builds counted %v", what, published, n)
				}
				if published && (f.p.active != got || f.p.matcher.Set() != got.set) {
					t.Fatalf("%s: the idle partition did not adopt the published rules", what)
				}
				if !published && !sameVersions(before, want) {
					t.Fatalf("%s: the registry changed but nothing was published", what)
				}
			}
		})
	}
}

// sameVersions says whether a and b have the same active versions: eachVersion lists
// the same ones, once each, len counts them, and the three lookups agree on every key,
// rule and Seq either set's base or overlay holds (which includes versions since gone);
// the evaluator's lookup (versionOfMatched) agrees with versionOfRule on indexed rules.
func sameVersions(a, b *activeSet) bool {
	ea, eb := versionsOf(a), versionsOf(b)
	if ea == nil || eb == nil || !maps.Equal(ea, eb) {
		return false
	}
	for _, s := range []*activeSet{a, b} {
		for _, r := range s.set.Rules() {
			if v := s.versionOfRule(r); v == nil || s.versionOfMatched(r) != v {
				return false
			}
		}
		for _, m := range []map[rule.Key]*controls.Version{s.baseKey, s.ovKey} {
			for k := range m {
				if a.version(k) != b.version(k) {
					return false
				}
			}
		}
		for _, m := range []map[*rule.Rule]*controls.Version{s.baseRule, s.ovRule} {
			for r := range m {
				if a.versionOfRule(r) != b.versionOfRule(r) {
					return false
				}
			}
		}
		for _, m := range []map[uint32]*controls.Version{s.baseID, s.ovID} {
			for id := range m {
				if a.versionByID(id) != b.versionByID(id) {
					return false
				}
			}
		}
	}
	for _, v := range ea {
		if a.version(v.Key) != v || a.versionOfRule(v.Rule) != v || a.versionByID(v.Seq) != v {
			return false
		}
	}
	return true
}

// versionsOf is s's versions by key as eachVersion lists them; nil if it lists a key
// twice or len disagrees.
func versionsOf(s *activeSet) map[rule.Key]*controls.Version {
	out := map[rule.Key]*controls.Version{}
	twice := false
	s.eachVersion(func(v *controls.Version) {
		_, twice = out[v.Key]
		out[v.Key] = v
	})
	if twice || len(out) != s.len() {
		return nil
	}
	return out
}

func sameActive(t *testing.T, what string, got, want *activeSet, docs []*jsonpath.Document, customers []string) {
	t.Helper()
	if !sameVersions(got, want) {
		t.Fatalf("%s: active versions differ:\n got  %v\n want %v", what, versionsOf(got), versionsOf(want))
	}
	if got.set.Len() != got.len() {
		t.Fatalf("%s: %d rules indexed, %d versions active", what, got.set.Len(), got.len())
	}
	if len(got.ovKey) > mergeBound(len(got.baseKey)) {
		t.Fatalf("%s: the overlay holds %d keys, over its bound %d", what, len(got.ovKey), mergeBound(len(got.baseKey)))
	}
	for _, r := range got.set.Rules() {
		if v := got.versionOfRule(r); v == nil || got.versionOfMatched(r) != v {
			t.Fatalf("%s: indexed rule %s has no active version, or the evaluator's lookup finds another", what, r.Key())
		}
	}
	for i, doc := range docs {
		g, w := ruleKeys(got.set.Match(customers[i], doc, nil)), ruleKeys(want.set.Match(customers[i], doc, nil))
		if !slices.Equal(g, w) {
			t.Fatalf("%s: document %d (customer %s) matched\n %v\nwant\n %v", what, i, customers[i], g, w)
		}
	}
}

func ruleKeys(rs []*rule.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s@%d", r.Key(), r.Version)
	}
	slices.Sort(out)
	return out
}

func activeDocs(t *testing.T, seed uint64) ([]*jsonpath.Document, []string) {
	t.Helper()
	gen := workload.New(seed, workload.Config{Customers: 5})
	var docs []*jsonpath.Document
	var customers []string
	for range 60 {
		ev := gen.NextShared()
		d := jsonpath.NewDocument()
		if err := d.Reset(ev.JSON); err != nil {
			t.Fatal(err)
		}
		docs, customers = append(docs, d), append(customers, ev.Customer)
	}
	return docs, customers
}

func testutilValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

// BenchmarkActiveSetApplyOneControl is what publishing one customer's new rule version
// costs the active set of N rules (the rule index and the lookups, with their merges
// amortized; not the partitions' reconcile), against indexing every version anew as
// each fetch did before:
//
//	go test -run '^$' -bench ActiveSetApplyOneControl -benchmem ./live
func BenchmarkActiveSetApplyOneControl(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		rules, vs, base := benchActiveSet(b, n)
		var err error
		var changes []*controls.Version
		for i, r := range rules[50:114] {
			c := *r
			c.Version++
			changes = append(changes, &controls.Version{Rule: &c, Key: c.Key(), Seq: uint32(n + i + 1)})
		}
		b.Run(fmt.Sprintf("rules=%d/impl=with", n), func(b *testing.B) {
			s := base
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// Each control decodes a rule of its own.
				v := *changes[i%len(changes)]
				r := *v.Rule
				v.Rule, v.Seq = &r, uint32(2*n+i)
				if s, err = s.with([]*controls.Version{&v}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Each control a key of its own: the overlay fills, and is merged into a new base
		// every mergeBound controls, whose cost this spreads over them.
		b.Run(fmt.Sprintf("rules=%d/impl=with-merging", n), func(b *testing.B) {
			s := base
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				c := *rules[50+i%(n-50)]
				c.Version += int64(1 + i/(n-50))
				v := &controls.Version{Rule: &c, Key: c.Key(), Seq: uint32(2*n + i)}
				if s, err = s.with([]*controls.Version{v}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/impl=full", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newActiveSet(vs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Random publishes over more keys than the overlay's bound holds, so that overlays are
// merged into new bases along the way: every published set answers the three lookups
// and eachVersion as one built whole does, and the fixture's partition, which adopts
// each set from its predecessor's changes, ends every step with the starts, pending
// backfills (started and cancelled) and counters of a partition that compares every
// active version; a partition that skips sets catches up to the same versions.
func TestPublishIncrementalAgreesWithFullReconcile(t *testing.T) {
	t.Parallel()
	seeds, steps := uint64(2), 800
	if testing.Short() {
		// Each seed's 800 steps take seconds: the fast tier keeps one seed of 450,
		// enough for the overlay to be merged into new bases twice.
		seeds, steps = 1, 450
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := newPublishFixture(t, seed)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Jobs queue without workers: enough to see them started and cancelled.
			f.d.bf = &backfiller{queue: newFairQueue[*handoffJob](), log: f.d.log, ctx: ctx}
			rng := rand.New(rand.NewPCG(seed, 9))
			f.d.loaded = true
			f.d.publishRules(nil)
			full, skip := newPartition(1), newPartition(2)
			scopes := []string{rule.GlobalScope, workload.CustomerID(0), workload.CustomerID(1), workload.CustomerID(2)}
			version := map[rule.Key]int64{}
			merges, incremental := 0, 0
			for step := range steps {
				var recs []controls.Record
				for range 1 + rng.IntN(4) {
					k := rule.Key{Scope: scopes[rng.IntN(len(scopes))], ID: fmt.Sprintf("r%d", rng.IntN(120))}
					if rng.IntN(4) == 0 {
						recs = append(recs, f.remove(k))
					} else {
						version[k]++
						recs = append(recs, f.upsert(t, k, version[k], f.pool[rng.IntN(len(f.pool))]))
					}
				}
				f.p.next++
				before := f.d.active.Load()
				if changed := f.fetch(t, recs); len(changed) > 0 {
					f.d.publishRules(changed)
				}
				got := f.d.active.Load()
				what := fmt.Sprintf("step %d", step)
				if got != before {
					if got.from != before.id {
						t.Fatalf("%s: the set was not derived from its predecessor", what)
					}
					incremental++
					if got.ovKey == nil {
						merges++
					}
				}
				want, err := newActiveSet(f.d.rules.Versions())
				if err != nil {
					t.Fatal(err)
				}
				if !sameVersions(got, want) {
					t.Fatalf("%s: active versions differ:\n got  %v\n want %v", what, versionsOf(got), versionsOf(want))
				}
				if f.p.active != got {
					t.Fatalf("%s: the idle partition did not adopt the published rules", what)
				}
				full.active = nil // no predecessor: compares every version
				full.reconcile(f.d, got, f.p.next)
				samePartition(t, what, f.p, full)
				if rng.IntN(5) == 0 {
					skip.reconcile(f.d, got, f.p.next)
					if !maps.Equal(startKeys(skip.starts), startKeys(full.starts)) || len(skip.pending) != len(skip.starts) {
						t.Fatalf("%s: the partition that skipped sets holds %v, want %v", what, startKeys(skip.starts), startKeys(full.starts))
					}
					skip.counts.each(func(_ int, id uint32, _ int64) {
						if got.versionByID(id) == nil {
							t.Fatalf("%s: the partition that skipped sets kept counters of version %d", what, id)
						}
					})
				}
				// Count one event per active version, so that dropped versions have
				// counters to drop.
				for _, q := range []*partition{f.p, full, skip} {
					if q.active != nil {
						ci := q.counts.intern(fmt.Sprint("customer-", step%7))
						q.active.eachVersion(func(v *controls.Version) { q.counts.add(ci, v.Seq, 1) })
					}
				}
				// A queued job runs on unless its partition no longer waits for it.
				for j := range f.d.bf.queue.positions() {
					if waiting := j.p.pending[j.ar] == j.pb; waiting != (j.ctx.Err() == nil) {
						t.Fatalf("%s: partition %d's job for %s@%d: waited for %v, cancelled %v", what, j.p.id, j.ar.Key, j.ar.Rule.Version, waiting, j.ctx.Err() != nil)
					}
				}
			}
			if merges < 2 || incremental < steps*5/8 {
				t.Fatalf("%d sets published from their predecessor, %d of them merged: the test no longer covers merges", incremental, merges)
			}
		})
	}
}

// samePartition fails unless p and q hold the same starts, pending backfills (by
// version and start), incomplete notes and counters, and gen moved alike.
func samePartition(t *testing.T, what string, p, q *partition) {
	t.Helper()
	if !maps.Equal(p.starts, q.starts) {
		t.Fatalf("%s: starts\n %v\nwant\n %v", what, p.starts, q.starts)
	}
	pending := func(x *partition) map[*controls.Version]int64 {
		out := map[*controls.Version]int64{}
		for v, pb := range x.pending {
			out[v] = pb.start
		}
		return out
	}
	if !maps.Equal(pending(p), pending(q)) {
		t.Fatalf("%s: pending backfills\n %v\nwant\n %v", what, pending(p), pending(q))
	}
	if len(p.incomplete) != len(q.incomplete) {
		t.Fatalf("%s: %d incomplete notes, want %d", what, len(p.incomplete), len(q.incomplete))
	}
	// Keyed by customer and version id, each customer's name read once: a fmt.Sprint key
	// per counter, twice a step, was 40% of TestPublishIncrementalAgreesWithFullReconcile's CPU.
	type counter struct {
		customer string
		id       uint32
	}
	counters := func(x *partition) map[counter]int64 {
		out := make(map[counter]int64, x.counts.live)
		name, last := "", -1
		x.counts.each(func(ci int, id uint32, n int64) {
			if ci != last {
				name, last = x.counts.name(ci), ci
			}
			out[counter{name, id}] = n
		})
		return out
	}
	if !maps.Equal(counters(p), counters(q)) {
		t.Fatalf("%s: counters\n %v\nwant\n %v", what, counters(p), counters(q))
	}
	if p.matcher.Set() != q.matcher.Set() {
		t.Fatalf("%s: the matchers use different rule sets", what)
	}
}

func startKeys(starts map[*controls.Version]int64) map[*controls.Version]bool {
	out := make(map[*controls.Version]bool, len(starts))
	for v := range starts {
		out[v] = true
	}
	return out
}

// A version that shares its rule with a version in the base (which the registry never
// makes: each upsert decodes its own rule) is still what the evaluator finds.
func TestActiveSetRuleSharedByVersions(t *testing.T) {
	t.Parallel()
	r := &rule.Rule{ID: "a", Scope: rule.GlobalScope, Version: 1, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.x", Op: rule.OpExists}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	v1 := &controls.Version{Rule: r, Key: r.Key(), Seq: 1}
	s, err := newActiveSet([]*controls.Version{v1})
	if err != nil {
		t.Fatal(err)
	}
	v2 := &controls.Version{Rule: r, Key: r.Key(), Seq: 2}
	if s, err = s.with([]*controls.Version{v2}, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.versionOfMatched(r); got != v2 || s.versionOfRule(r) != v2 || s.versionByID(1) != nil {
		t.Fatalf("the evaluator finds version %d of the rule, want 2", got.Seq)
	}
}

// benchActiveSet is the active set the control benchmarks start from: n workload rules,
// 50 of them global, over n/10 customers.
func benchActiveSet(b *testing.B, n int) ([]*rule.Rule, []*controls.Version, *activeSet) {
	b.Helper()
	rules := workload.Rules(42, n, workload.RulesConfig{Customers: n / 10, GlobalRules: 50})
	vs := make([]*controls.Version, n)
	for i, r := range rules {
		vs[i] = &controls.Version{Rule: r, Key: r.Key(), Seq: uint32(i + 1)}
	}
	base, err := newActiveSet(vs)
	if err != nil {
		b.Fatal(err)
	}
	return rules, vs, base
}
