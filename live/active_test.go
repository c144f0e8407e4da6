package live

import (
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

func sameVersions(a, b *activeSet) bool {
	return maps.Equal(a.byKey, b.byKey) && maps.Equal(a.byID, b.byID) && maps.Equal(a.byRule, b.byRule)
}

func sameActive(t *testing.T, what string, got, want *activeSet, docs []*jsonpath.Document, customers []string) {
	t.Helper()
	if !sameVersions(got, want) {
		t.Fatalf("%s: active versions differ:\n got  %v\n want %v", what, got.byKey, want.byKey)
	}
	if got.set.Len() != len(got.byKey) {
		t.Fatalf("%s: %d rules indexed, %d versions active", what, got.set.Len(), len(got.byKey))
	}
	for _, r := range got.set.Rules() {
		if got.byRule[r] == nil {
			t.Fatalf("%s: indexed rule %s has no active version", what, r.Key())
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
// costs the active set of N rules (the rule index and the lookup maps; not the
// partitions' reconcile), against indexing every version anew as each fetch did before:
//
//	go test -run '^$' -bench ActiveSetApplyOneControl -benchmem ./live
func BenchmarkActiveSetApplyOneControl(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		rules := workload.Rules(42, n, workload.RulesConfig{Customers: n / 10, GlobalRules: 50})
		vs := make([]*controls.Version, n)
		for i, r := range rules {
			vs[i] = &controls.Version{Rule: r, Key: r.Key(), Seq: uint32(i + 1)}
		}
		base, err := newActiveSet(vs)
		if err != nil {
			b.Fatal(err)
		}
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
				v := *changes[i%len(changes)]
				v.Seq = uint32(2*n + i)
				if s, err = s.with([]*controls.Version{&v}, nil); err != nil {
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
