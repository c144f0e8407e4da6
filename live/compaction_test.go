package live_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCompactionKeepsActiveRules: the controls topic is compacted, keeping the newest
// record of each key. A record the fold ignores (invalid, or an older version) left
// the newest of its key would have compaction delete the upsert that made the key's
// rule, and the next start find the rule gone or older. The daemon writes the active
// version back after such a record, even one it met replaying the topic, so after
// compaction a restart folds the same rules.
func TestCompactionKeepsActiveRules(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	adm := kadm.NewClient(b.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// As ingest.EnsureTopics creates it.
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "controls")
	if err == nil {
		_, err = resp.On("controls", nil)
	}
	if err != nil {
		t.Fatalf("setting cleanup.policy=compact on controls: %v", err)
	}
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	up := func(id string, version int, path string) *kgo.Record {
		return rec("*/"+id, fmt.Sprintf(`{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":100,"when":{"path":%q}}}`, id, version, path))
	}
	active := func() []string {
		d, stop := livetest.StartLive(t, b, nil)
		defer func() { stop(); <-d.Done() }() // closing, it delivers what it wrote
		var got []string
		for _, v := range d.RuleList().Rules {
			got = append(got, fmt.Sprintf("%s@%d:%s", v.Key(), v.Version, v.Rule.When.Path))
		}
		return got
	}
	want := []string{"*/a@2:$.a", "*/s@2:$.new", "*/z@1:$.z"}

	// Met while replaying the topic at start.
	for _, r := range []*kgo.Record{ // one batch each: the broker compacts whole batches
		up("a", 2, "$.a"),
		up("a", 3, "$.a["), // invalid JSONPath
		up("s", 2, "$.new"),
		up("s", 1, "$.old"), // older than the active version
		rec("*/a", `{"op":"upsert","rule":{"id":"a"`),
		up("z", 1, "$.z"),
	} {
		livetest.ProduceSync(t, b, r)
	}
	if got := active(); !slices.Equal(got, want) {
		t.Fatalf("before compaction: active %v, want %v", got, want)
	}
	b.Cluster.Compact()
	if got := active(); !slices.Equal(got, want) {
		t.Errorf("after compaction: active %v, want %v", got, want)
	}

	// Met while running.
	d, stop := livetest.StartLive(t, b, nil)
	for _, r := range []*kgo.Record{up("a", 1, "$.older"), rec("*/s", `not json`), up("z", 2, "$.z2")} {
		livetest.ProduceSync(t, b, r)
	}
	livetest.WaitFor(t, 10*time.Second, "z's version 2", func() bool {
		v, ok := d.Registry().Version(livetest.ParseRule(t, `{"id":"z","scope":"*","when":{"path":"$.z"},"threshold":1}`).Key())
		return ok && v.Rule.Version == 2
	})
	stop()
	<-d.Done()
	b.Cluster.Compact()
	want = []string{"*/a@2:$.a", "*/s@2:$.new", "*/z@2:$.z2"}
	if got := active(); !slices.Equal(got, want) {
		t.Errorf("after records not applied while running, and compaction: active %v, want %v", got, want)
	}
}

// TestRejectedControlsBound: past --max-rejected-controls the oldest rejected controls
// leave /v1/rules, counted there and in /metrics.
func TestRejectedControlsBound(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	limit := rule.CurrentLimits().MaxRejectedControls
	var recs []*kgo.Record
	for i := range limit + 5 {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: fmt.Appendf(nil, "*/bad-%d", i), Value: []byte("not json")})
	}
	livetest.ProduceSync(t, b, recs...)
	livetest.WaitFor(t, 10*time.Second, "the rejected controls folded", func() bool { return d.RuleList().InvalidDropped == 5 })
	if l := d.RuleList(); len(l.Invalid) != limit || l.Invalid[0].Key != "*/bad-5" {
		t.Errorf("/v1/rules lists %d rejected controls from %s; want the newest %d, from */bad-5", len(l.Invalid), l.Invalid[0].Key, limit)
	}
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	for _, line := range []string{
		fmt.Sprintf(`hindsight_limit{name="max_rejected_controls"} %d`, limit),
		`hindsight_limit_reached_total{name="max_rejected_controls"} 5`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}
