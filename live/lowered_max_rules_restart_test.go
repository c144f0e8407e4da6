package live_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLoweredMaxRulesRestartDeletesNoRule: three rules ran; the daemon was restarted
// once with --max-rules 2 (a changed flag), which refuses the third as it folds the
// topic, and then with the old limit again. The third rule must come back: lowering
// a limit for one run may refuse rules, not delete them. The run under the lower
// limit wrote the Keeper of the refused upsert, a delete of its key (the key "holds
// nothing" there); once compaction kept that delete alone, the rule was gone for every
// later run, whatever the limit, and no control anyone wrote deleted it. Not parallel:
// it sets the process's rule limits.
func TestLoweredMaxRulesRestartDeletesNoRule(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	orig := rule.CurrentLimits().MaxRules
	setMax := func(n int) { setRuleLimits(t, func(l *rule.Limits) { l.MaxRules = n }) }
	b := compactedControls(t)
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	up := func(id string) *kgo.Record {
		return rec("*/"+id, fmt.Sprintf(`{"op":"upsert","rule":{"id":%q,"scope":"*","version":1,"threshold":100,"when":{"path":"$.x"}}}`, id))
	}
	filler, list := fillerDestination, ruleVersions
	b.Produce(t, up("a"), up("b"), up("c"))

	d, stop := livetest.StartLive(t, b, nil)
	before := list(d.RuleList().Rules)
	stop()
	<-d.Done()
	if len(before) != 3 {
		t.Fatalf("first run: rules %v, want three", before)
	}

	setMax(2)
	d, stop = livetest.StartLive(t, b, nil)
	awaitRecords(t, b, "controls", 4, 10*time.Second) // any Keeper written
	stop()
	<-d.Done()
	b.Produce(t, filler(1))
	b.Cluster.Compact()

	setMax(orig)
	d, stop = livetest.StartLive(t, b, nil)
	defer func() { stop(); <-d.Done() }()
	poll.Until(t, 10*time.Second, "destinations loaded", func() bool { return len(d.Registry().Destinations()) == 1 })
	if got := list(d.RuleList().Rules); !slices.Equal(got, before) {
		t.Errorf("after one run under --max-rules 2 and compaction, the old limit runs rules %v; before, %v", got, before)
	}
}
