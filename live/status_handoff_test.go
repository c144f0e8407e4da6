package live

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRuleIsLiveOnlyOnceHandedOff: a rule's status says live only when every owned
// partition counts it live and its history is in. The registry is folded before the
// index is published and partitions adopt the published set after, so for a moment
// the new version has no backfill job anywhere; it once showed live then, with none of
// its history counted (seen as TestBrokerRestartMidStream reading zero counts).
func TestRuleIsLiveOnlyOnceHandedOff(t *testing.T) {
	t.Parallel()
	f := newPublishFixture(t, 1)
	f.d.bf = &backfiller{queue: newFairQueue[*handoffJob](), ctx: context.Background(), log: f.d.log,
		minBackoff: time.Millisecond, maxBackoff: time.Millisecond}
	idle := newPartition(1) // assigned, not yet positioned: it adopts the rules when it is
	f.d.parts[1] = idle
	f.d.loaded = true
	f.d.publishRules(nil)
	k := rule.Key{Scope: rule.GlobalScope, ID: "new"}
	status := func() string {
		t.Helper()
		for _, v := range f.d.Rules() {
			if v.Key() == k {
				return v.Status
			}
		}
		t.Fatalf("no view of %s", k)
		return ""
	}
	counts := func() string {
		t.Helper()
		cs, ok := f.d.Counts(k)
		if !ok {
			return "inactive"
		}
		if len(cs) > 0 {
			return cs[0].Status
		}
		return "none"
	}

	f.fetch(t, []controls.Record{f.upsert(t, k, 1, f.pool[0])})
	if got := status(); got != contract.RuleBackfilling {
		t.Fatalf("folded, not yet published: status %q, want %q", got, contract.RuleBackfilling)
	}
	f.d.publishRules([]rule.Key{k})
	if got := status(); got != contract.RuleBackfilling {
		t.Fatalf("published, a job queued in partition 0, partition 1 not positioned: status %q, want %q", got, contract.RuleBackfilling)
	}
	ar := f.d.active.Load().version(k)
	finish := func(p *partition) {
		t.Helper()
		p.mu.Lock()
		pb := p.pending[ar]
		p.mu.Unlock()
		if pb == nil {
			t.Fatalf("partition %d has no job for %s", p.id, k)
		}
		f.d.applyBackfill(p, ar, pb, &backfill.Result{Counts: map[string]int64{"c-1": 1}})
	}
	finish(f.p)
	if got := status(); got != contract.RuleBackfilling {
		t.Fatalf("partition 1 has not adopted the rule: status %q, want %q", got, contract.RuleBackfilling)
	}
	idle.mu.Lock()
	idle.next = 5
	idle.reconcile(f.d, f.d.active.Load(), 5)
	idle.mu.Unlock()
	finish(idle)
	if got, c := status(), counts(); got != contract.RuleLive || c != contract.RuleLive {
		t.Fatalf("every partition adopted it and its history is in: status %q, counts' status %q, want %q", got, c, contract.RuleLive)
	}
}
