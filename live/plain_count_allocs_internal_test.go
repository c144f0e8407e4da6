package live

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPlainCountOfKnownCustomerAllocatesNothing guards HandleBatch's per-event work for
// plain rules, as BenchmarkEvalMatched runs it: matching an event against 1,000 rules
// and adding to the counters of a customer the partition already counts allocates
// nothing. The daemon runs this for every event, so one allocation here is one per
// event: garbage made at the consumer's rate, for the collector to chase.
func TestPlainCountOfKnownCustomerAllocatesNothing(t *testing.T) {
	const n, customers = 1000, 50
	rules := workload.Rules(3, n, workload.RulesConfig{Customers: customers, GlobalRules: 20})
	s, err := newActiveSet(stampedVersions(rules))
	if err != nil {
		t.Fatal(err)
	}
	gen := workload.New(5, workload.Config{Customers: customers})
	docs := make([]*jsonpath.Document, 256)
	custs := make([]string, len(docs))
	for i := range docs {
		ev := gen.Next()
		docs[i] = jsonpath.NewDocument()
		// As the consumer hands it over: a view of the fetched key, which the store
		// copies only when it interns a new customer.
		custs[i] = string([]byte(ev.Customer))
		if err := docs[i].Reset(ev.JSON); err != nil {
			t.Fatal(err)
		}
	}
	m := s.set.NewMatcher()
	counts := newCounterStore()
	var matched []*rule.Rule
	adds, i := 0, 0
	event := func() {
		j := i % len(docs)
		i++
		matched = m.Match(custs[j], docs[j], matched[:0])
		ci := -1
		for _, r := range matched {
			if !r.Plain() {
				continue
			}
			if ci == -1 {
				ci = counts.intern(custs[j])
			}
			counts.add(ci, r.Seq, 1)
			adds++
		}
	}
	for range len(docs) { // every customer and counter made once
		event()
	}
	warm := adds
	// A run is a round of all the events: AllocsPerRun rounds down, so one
	// allocation per event with a plain match would read as none per event.
	round := func() {
		for range len(docs) {
			event()
		}
	}
	if allocs := testing.AllocsPerRun(4, round); allocs != 0 {
		t.Errorf("matching and counting %d events of known customers allocated %.0f times, want 0", len(docs), allocs)
	}
	// The events matched: a matcher that matched nothing would allocate nothing too.
	t.Logf("warm %d adds, measured %d adds over %d events", warm, adds-warm, i)
	if adds < len(docs) {
		t.Fatalf("%d counts over %d events: too few of the events matched a plain rule for the test to mean anything", adds, i)
	}
}
