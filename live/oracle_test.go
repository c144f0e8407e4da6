package live_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// oracle replays the full history the daemon saw, rule by rule and event by event,
// without the daemon's index: each rule version counts the matching events of its
// customers from the moment it became active.
type oracle struct {
	active map[rule.Key]*oracleRule
	alerts map[string]contract.Alert
	doc    *jsonpath.Document
}

type oracleRule struct {
	r      *rule.Rule
	counts map[string]int64
}

func (o *oracle) upsert(r *rule.Rule) {
	if cur := o.active[r.Key()]; cur != nil && cur.r.Version >= r.Version {
		return
	}
	o.active[r.Key()] = &oracleRule{r: r, counts: map[string]int64{}}
}

func (o *oracle) event(t *testing.T, rec *kgo.Record) {
	if err := o.doc.Reset(rec.Value); err != nil {
		t.Fatalf("workload event is not JSON: %v", err)
	}
	customer := string(rec.Key)
	for _, or := range o.active {
		r := or.r
		if !r.AppliesTo(customer) || !r.Matches(o.doc) {
			continue
		}
		or.counts[customer]++
		if n := or.counts[customer]; n == r.Threshold.Count() {
			id := contract.AlertID(r.Scope, r.ID, r.Version, customer, r.Threshold.Count())
			o.alerts[id] = contract.Alert{AlertID: id, RuleID: r.ID, Scope: r.Scope, Version: r.Version, Customer: customer,
				Count: n, Threshold: r.Threshold, Partition: rec.Partition, Offset: rec.Offset, Source: "live",
				Aggregate: "count", Value: float64(n), Status: contract.StatusFiring, Severity: r.Severity(), Samples: []int64{rec.Offset}}
		}
	}
}

// TestCountsMatchOracle interleaves workload events with rule upserts, replacements and
// deletes, and checks every counter and every alert against the oracle.
func TestCountsMatchOracle(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)
	gen := workload.New(7, workload.Config{Customers: 20})
	o := &oracle{active: map[rule.Key]*oracleRule{}, alerts: map[string]contract.Alert{}, doc: jsonpath.NewDocument()}

	r := func(js string) *rule.Rule { return livetest.ParseRule(t, js) }
	adminFail := `{"id":"admin-login-failures","scope":"%s","version":%d,"when":{"all":[
		{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"threshold":%d}`
	type step struct {
		upserts []*rule.Rule
		deletes []rule.Key
		events  int
	}
	steps := []step{
		{events: 200},
		{upserts: []*rule.Rule{
			r(fmt.Sprintf(adminFail, "*", 1, 5)),
			r(`{"id":"high-risk","scope":"*","when":{"path":"$.risk.score","op":">=","value":90},"threshold":8}`),
			r(`{"id":"payroll","scope":"c-0000","when":{"path":"$.target.name","op":"==","value":"payroll.xlsx"},"threshold":3}`),
		}},
		{events: 400},
		{upserts: []*rule.Rule{
			r(`{"id":"sso","scope":"c-0003","when":{"path":"$.tags","op":"contains","value":"sso"},"threshold":4}`),
			r(`{"id":"not-success","scope":"*","when":{"not":{"path":"$.outcome","op":"==","value":"success"}},"threshold":15}`),
			r(`{"id":"high-risk","scope":"*","version":2,"when":{"path":"$.risk.score","op":">=","value":80},"threshold":6}`),
		}},
		{events: 400},
		{deletes: []rule.Key{{Scope: "c-0000", ID: "payroll"}}, upserts: []*rule.Rule{
			r(`{"id":"geo","scope":"*","when":{"path":"$.actor.geo.country","op":"in","value":["DE","FR"]},"threshold":10}`),
			r(`{"id":"mfa-off","scope":"c-0000","when":{"any":[{"path":"$.type","op":"==","value":"mfa.disabled"},{"path":"$.session.mfa","op":"==","value":false}]},"threshold":2}`),
			r(fmt.Sprintf(adminFail, "c-0000", 1, 2)),
		}},
		{events: 400},
		{upserts: []*rule.Rule{r(fmt.Sprintf(adminFail, "*", 2, 3))}},
		{events: 300},
	}

	var seen int64
	for i, s := range steps {
		var ctl []*kgo.Record
		for _, u := range s.upserts {
			ctl = append(ctl, livetest.Upsert(t, u))
			o.upsert(u)
		}
		for _, k := range s.deletes {
			ctl = append(ctl, livetest.Delete(t, k))
			delete(o.active, k)
		}
		if len(ctl) > 0 {
			b.Produce(t, ctl...)
			poll.Until(t, wait, fmt.Sprintf("step %d's rules", i), func() bool {
				for k, or := range o.active {
					if v, ok := d.Count(k, ""); !ok || v.Version != or.r.Version {
						return false
					}
				}
				return d.Registry().Len() == len(o.active)
			})
		}
		if s.events > 0 {
			recs := make([]*kgo.Record, s.events)
			for j := range recs {
				e := gen.Next()
				recs[j] = &kgo.Record{Topic: "events", Key: []byte(e.Customer), Value: e.JSON, Timestamp: e.Time}
			}
			recs = b.Produce(t, recs...)
			for _, rec := range recs {
				o.event(t, rec)
			}
			seen += int64(s.events)
			waitSeen(t, d, seen)
		}
	}

	checked, nonzero := 0, 0
	for k, or := range o.active {
		for c := range 20 {
			customer := workload.CustomerID(c)
			want := or.counts[customer]
			if got := count(t, d, k, customer); got != want {
				t.Errorf("count %s v%d for %s = %d, oracle %d", k, or.r.Version, customer, got, want)
			}
			checked++
			if want > 0 {
				nonzero++
			}
		}
	}
	if nonzero < 20 {
		t.Fatalf("only %d of %d counters are non-zero: the workload does not exercise the rules", nonzero, checked)
	}

	alerts := alertsOn(t, b, len(o.alerts))
	got := map[string]contract.Alert{}
	for _, a := range alerts {
		if _, dup := got[a.AlertID]; dup {
			t.Errorf("alert %s raised twice", a.AlertID)
		}
		a.EventTime = a.EventTime.UTC()
		got[a.AlertID] = a
	}
	for id, want := range o.alerts {
		a, ok := got[id]
		a.EventTime = want.EventTime
		if !ok || !reflect.DeepEqual(a, want) {
			t.Errorf("alert %s = %+v, oracle %+v", id, a, want)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := o.alerts[id]; !ok {
			t.Errorf("unexpected alert %+v", got[id])
		}
	}
	t.Logf("%d counters checked (%d non-zero), %d alerts", checked, nonzero, len(o.alerts))
}
