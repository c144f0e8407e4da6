package live_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLoweredRuleLimitRestartDeletesNoRule: a rule with an in list of 20 members ran;
// the daemon was restarted once with --max-rule-in-list 10, which refuses the rule's
// upsert as it folds the topic, and then with the old limit again. The rule must come
// back. The run under the lower limit wrote the Keeper of the refused upsert at the end
// of its replay, a delete (the key "holds nothing" there); once compaction kept that
// delete alone, the rule was gone for every later run, whatever the limit. With an
// older valid version under the key, the Keeper re-published the older one, and the
// newer was lost alike, also where the key's newest record was the Keeper of the newer
// version (after an invalid record), which the lower limit refuses too. A record
// refused for rule limits alone at the end of a replay is left as written now. Not
// parallel: it sets the process's rule limits.
func TestLoweredRuleLimitRestartDeletesNoRule(t *testing.T) {
	inList := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprint(i)
		}
		return "[" + strings.Join(vals, ",") + "]"
	}
	up := func(id string, version, members int) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("*/" + id), Value: []byte(fmt.Sprintf(
			`{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":100,"when":{"path":"$.x","op":"in","value":%s}}}`,
			id, version, inList(members)))}
	}
	// An upsert of the key that is invalid under any limits: the first run writes the
	// Keeper of version 2 after it, which the lowered limit refuses as it did version 2.
	broken := &kgo.Record{Topic: "controls", Key: []byte("*/a"), Value: []byte(
		`{"op":"upsert","rule":{"id":"a","scope":"*","version":3,"threshold":100,"when":{"path":"$.x","op":"~","value":1}}}`)}
	for _, tc := range []struct {
		name    string
		records []*kgo.Record // each its own batch: the broker compacts whole batches
		version int           // the version that runs, before and after
	}{
		{"only version", []*kgo.Record{up("a", 1, 20)}, 1},
		{"over an older valid version", []*kgo.Record{up("a", 1, 5), up("a", 2, 20)}, 2},
		{"kept by a Keeper after an invalid record", []*kgo.Record{up("a", 1, 5), up("a", 2, 20), broken}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer rule.SetLimits(rule.CurrentLimits())
			orig := rule.CurrentLimits().MaxInList
			setMax := func(n int) { setRuleLimits(t, func(l *rule.Limits) { l.MaxInList = n }) }
			b := compactedControls(t)
			list := ruleVersions
			for _, r := range tc.records {
				b.Produce(t, r)
			}
			want := []string{fmt.Sprintf("*/a@%d", tc.version)}

			d, stop := livetest.StartLive(t, b, nil)
			before := list(d.RuleList().Rules)
			stop()
			<-d.Done()
			if !slices.Equal(before, want) {
				t.Fatalf("first run: rules %v, want %v", before, want)
			}

			setMax(10)
			d, stop = livetest.StartLive(t, b, nil)
			rl := d.RuleList()
			stop()
			<-d.Done()
			if !slices.ContainsFunc(rl.Invalid, func(rc contract.RejectedControl) bool {
				return rc.Key == "*/a" && len(rc.Problems) == 1 && strings.Contains(rc.Problems[0].Msg, "(limit "+rule.LimitInList+")")
			}) {
				t.Fatalf("under --max-rule-in-list 10: rejected controls %+v, want */a's upsert refused naming %s", rl.Invalid, rule.LimitInList)
			}
			b.Produce(t, fillerDestination(1))
			b.Cluster.Compact()

			// Still under the lowered limit, after compaction: an older version's upsert
			// is gone, and the newer one is refused, so the key holds nothing (as the
			// docs say), and nothing is written that would outlive the limit.
			d, stop = livetest.StartLive(t, b, nil)
			poll.Until(t, 10*time.Second, "destinations loaded", func() bool { return len(d.Registry().Destinations()) == 1 })
			if got := list(d.RuleList().Rules); len(got) != 0 {
				t.Errorf("under --max-rule-in-list 10 after compaction: rules %v, want none", got)
			}
			stop()
			<-d.Done()

			setMax(orig)
			d, stop = livetest.StartLive(t, b, nil)
			defer func() { stop(); <-d.Done() }()
			poll.Until(t, 10*time.Second, "destinations loaded", func() bool { return len(d.Registry().Destinations()) == 1 })
			if got := list(d.RuleList().Rules); !slices.Equal(got, want) {
				t.Errorf("after one run under --max-rule-in-list 10 and compaction, the old limit runs rules %v; before, %v", got, want)
			}
		})
	}
}
