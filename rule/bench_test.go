package rule_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

const benchEvents = 2048

// benchWorkload is n rules and the events they are matched against. Two shapes:
//
//   - "tenant": rules grow with customers, as in a multi-tenant deployment: 50 global
//     rules, the rest spread over n/10 customers (at least 100), whose events they see.
//   - "global": a fifth of all rules are global, so every event faces n/5 of them; the
//     rules an event satisfies grow with n, and so must the work.
func benchWorkload(shape string, n int) ([]*rule.Rule, []workload.Event) {
	customers := 100
	cfg := workload.RulesConfig{Customers: customers}
	if shape == "tenant" {
		customers = max(100, n/10)
		cfg = workload.RulesConfig{Customers: customers, GlobalRules: min(50, n)}
	}
	rules := workload.Rules(42, n, cfg)
	gen := workload.New(42, workload.Config{Customers: customers})
	evs := make([]workload.Event, benchEvents)
	for i := range evs {
		evs[i] = gen.Next()
	}
	return rules, evs
}

// TestBaselineAgreesWithSet keeps the benchmark honest: the baseline decides exactly
// what the index decides, so the two measure the same work.
func TestBaselineAgreesWithSet(t *testing.T) {
	rules, evs := benchWorkload("global", 1000)
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	base := baseline.NewEvaluator(rules)
	m, doc := set.NewMatcher(), jsonpath.NewDocument()
	total := 0
	for i, ev := range evs {
		if err := doc.Reset(ev.JSON); err != nil {
			t.Fatal(err)
		}
		got := keys(m.Match(ev.Customer, doc, nil))
		b, err := base.Match(ev.Customer, ev.JSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := keys(b); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("event %d: index %v, baseline %v", i, got, want)
		}
		total += len(got)
	}
	if total == 0 {
		t.Fatal("no matches at all")
	}
	t.Logf("%d matches over %d events", total, len(evs))
}

// BenchmarkMatch is the evaluator's events/s at 1, 100, 1,000 and 10,000 active rules,
// in the two workload shapes of benchWorkload, against the baseline measured in the
// same run. Compare with:
//
//	go test -run '^$' -bench Match -benchmem ./rule
func BenchmarkMatch(b *testing.B) {
	for _, shape := range []string{"tenant", "global"} {
		for _, n := range []int{1, 100, 1000, 10000} {
			rules, evs := benchWorkload(shape, n)
			set, err := rule.NewSet(rules)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("shape=%s/rules=%d/impl=index", shape, n), func(b *testing.B) {
				m, doc := set.NewMatcher(), jsonpath.NewDocument()
				var dst []*rule.Rule
				matched := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ev := &evs[i%len(evs)]
					if err := doc.Reset(ev.JSON); err != nil {
						b.Fatal(err)
					}
					dst = m.Match(ev.Customer, doc, dst[:0])
					matched += len(dst)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(matched)/float64(b.N), "matches/event")
			})
			if n == 10000 && testing.Short() {
				continue // the baseline takes milliseconds per event here
			}
			base := baseline.NewEvaluator(rules)
			b.Run(fmt.Sprintf("shape=%s/rules=%d/impl=ojg-baseline", shape, n), func(b *testing.B) {
				var dst []*rule.Rule
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ev := &evs[i%len(evs)]
					var err error
					if dst, err = base.Match(ev.Customer, ev.JSON, dst[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
