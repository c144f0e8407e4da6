package live_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
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
	t.Parallel()
	b := compactedControls(t)
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
		b.Produce(t, r)
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
		b.Produce(t, r)
	}
	poll.Until(t, 10*time.Second, "z's version 2", func() bool {
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
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	limit := rule.CurrentLimits().MaxRejectedControls
	var recs []*kgo.Record
	for i := range limit + 5 {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: fmt.Appendf(nil, "*/bad-%d", i), Value: []byte("not json")})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "the rejected controls folded", func() bool { return d.RuleList().InvalidDropped == 5 })
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

// TestRestartAfterCompactionKeepsState: a control not applied under a rule's key
// (here an invalid upsert) makes the daemon write the key's Keeper, the upsert of the
// active version. Compaction then keeps only the Keeper, so the next start folds the
// version from it; snapshots name versions by their upsert's offset and fingerprint,
// so the Keeper carries that offset (controls.HeaderKeeps) and the restart restores
// the rule's counts, raising no alert again. Without it, the state of a rule that never
// changed was dropped.
func TestRestartAfterCompactionKeepsState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		backfill bool
	}{{"no-backfill", false}, {"backfill", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := compactedControls(t)
			state := "file://" + t.TempDir()
			cfg := func(c *live.Config) {
				c.Group, c.StateURL = "compaction-restore", state
				c.SnapshotInterval = 100 * time.Millisecond
				c.NoBackfill = !tc.backfill
			}
			r := livetest.ParseRule(t, `{"id":"dl","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":3}`)

			d, stop := livetest.StartLive(t, b, cfg)
			b.Produce(t, livetest.Upsert(t, r))
			waitRule(t, d, r.Key(), 1)
			before, _ := d.Registry().Version(r.Key())
			b.Produce(t, ev("c-1", downloaded), ev("c-1", downloaded), ev("c-1", downloaded), ev("c-1", downloaded), ev("c-1", downloaded))
			waitSeen(t, d, 5)
			if got := count(t, d, r.Key(), "c-1"); got != 5 {
				t.Fatalf("count before restart = %d, want 5", got)
			}
			b.WaitTopicRecords(t, "alerts", 1, wait)
			// A bad control for the key: not applied, so the daemon writes the Keeper.
			b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte("*/dl"),
				Value: []byte(`{"op":"upsert","rule":{"id":"dl","scope":"*","version":2,"threshold":3,"when":{"path":"$.a["}}}`)})
			b.WaitTopicRecords(t, "controls", 3, wait) // upsert, bad control, Keeper
			// Another rule, so that the Keeper is not the log's last batch (which
			// compaction never cleans).
			other := livetest.ParseRule(t, `{"id":"other","scope":"*","when":{"path":"$.nope"},"threshold":1}`)
			b.Produce(t, livetest.Upsert(t, other))
			waitRule(t, d, other.Key(), 1)
			stop()
			if err := d.Wait(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}

			b.Cluster.Compact()

			d2, stop2 := livetest.StartLive(t, b, cfg)
			waitRule(t, d2, r.Key(), 1)
			after, _ := d2.Registry().Version(r.Key())
			t.Logf("rule %s version 1: control offset %d before the restart, %d after; same fingerprint: %v",
				r.Key(), before.ControlOffset, after.ControlOffset, before.Fingerprint == after.Fingerprint)
			poll.Until(t, wait, "the partition restored", func() bool {
				st := d2.State()
				return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
			})
			if tc.backfill {
				poll.Until(t, wait, "the rule live", func() bool {
					vs := d2.Rules()
					return len(vs) == 2 && vs[0].Status == "live" && vs[1].Status == "live"
				})
			}
			if got := count(t, d2, r.Key(), "c-1"); got != 5 {
				t.Errorf("count of an unchanged rule after a clean restart = %d, want 5 (restored from the shutdown snapshot)", got)
			}
			st := d2.State()
			t.Logf("partition 0 restored from %s: %d counters (the snapshot holds 1)", st.Partitions[0].Restored.Key, st.Partitions[0].Restored.Counters)
			if tc.backfill {
				// A hand-off applied (live) may still be handing its alerts to the
				// producer: the stop's snapshot waits for them to be queued, and the stop
				// flushes them, so any backfill alert is on the topic.
				stop2()
				<-d2.Done()
				if n := b.TopicRecords(t, "alerts"); n != 1 {
					t.Errorf("alerts topic holds %d alerts after a clean restart, want the 1 raised before it", n)
				}
			}
		})
	}
}

// compactedControls is a broker of one events partition whose controls topic is
// compacted, as ingest.EnsureTopics creates it.
// setRuleLimits makes the process's rule limits those set changes, failing t if they
// are refused; the caller restores them (defer rule.SetLimits(rule.CurrentLimits())).
func setRuleLimits(t *testing.T, set func(*rule.Limits)) {
	t.Helper()
	l := rule.CurrentLimits()
	set(&l)
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
}

// fillerDestination is the upsert of destination f<n>: a control applied, with no
// Keeper, that a test produces after the records it wants compacted (the broker
// compacts neither the last batch nor an open one).
func fillerDestination(n int) *kgo.Record {
	return &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("destination:*/f%d", n)), Value: []byte(fmt.Sprintf(
		`{"op":"upsert","destination":{"scope":"*","name":"f%d","type":"webhook","url":"https://hooks.example.com/%d"}}`, n, n))}
}

// ruleVersions is the rules of a listing as SCOPE/ID@VERSION, sorted.
func ruleVersions(rs []contract.RuleView) []string {
	got := make([]string, 0, len(rs))
	for _, v := range rs {
		got = append(got, fmt.Sprintf("%s@%d", v.Key(), v.Version))
	}
	slices.Sort(got)
	return got
}

func compactedControls(t *testing.T) *kafkatest.Broker {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "controls", "cleanup.policy", "compact")
	return b
}

// TestCompactionKeepsARuleRejectedAtMaxRulesRejected: an upsert rejected at
// --max-rules is the newest record of its key; once compaction removed the upsert of a
// rule deleted after it, a restart's fold found room for it, and ran a rule the running
// daemon does not have. The daemon keeps its key with the upsert itself, marked as
// refused at max_rules 2, which a fold under that limit refuses whatever room there is
// (controls.Registry.Keeper). Not parallel: it sets the process's rule limits (a
// parallel flood of 4,000 rules met --max-rules 2 in a CI run).
func TestCompactionKeepsARuleRejectedAtMaxRulesRejected(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.CurrentLimits()
	l.MaxRules = 2
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	b := compactedControls(t)
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	up := func(id string, version int) *kgo.Record {
		return rec("*/"+id, fmt.Sprintf(`{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":100,"when":{"path":"$.x"}}}`, id, version))
	}
	active := func() []string {
		d, stop := livetest.StartLive(t, b, nil)
		defer func() { stop(); <-d.Done() }()
		var got []string
		for _, v := range d.RuleList().Rules {
			got = append(got, fmt.Sprintf("%s@%d", v.Key(), v.Version))
		}
		return got
	}
	for _, r := range []*kgo.Record{ // one batch each: the broker compacts whole batches
		up("a", 1),
		up("b", 1),
		up("c", 1), // a third rule: rejected, max_rules is 2
		rec("*/a", `{"op":"delete","scope":"*","id":"a"}`),
		up("b", 2), // anything after, so that the delete is not in the last batch
	} {
		b.Produce(t, r)
	}
	want := []string{"*/b@2"}
	if got := active(); !slices.Equal(got, want) {
		t.Fatalf("before compaction: active %v, want %v", got, want)
	}
	awaitRecords(t, b, "controls", 6, 10*time.Second) // */c's keeper; the check below fails without it
	b.Produce(t, up("b", 3))                          // the keeper is not in the last batch either
	want = []string{"*/b@3"}
	b.Cluster.Compact()
	if got := active(); !slices.Equal(got, want) {
		t.Errorf("after compaction: active %v, want %v (the fold before compaction)", got, want)
	}
}

// TestCompactionKeepsADestinationARuleDeleteNamed: a rule delete whose scope reads as
// a destination's record key ("destination:*") was folded as a rule delete, not_found,
// and the destination stayed; but as the newest record of the destination's key it had
// compaction remove the destination's upsert, and a restart folded no destination. A
// delete's scope and id are now checked as an upsert's: it is invalid, and the
// destination's key is kept.
func TestCompactionKeepsADestinationARuleDeleteNamed(t *testing.T) {
	t.Parallel()
	b := compactedControls(t)
	rec := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte(key), Value: []byte(value)}
	}
	dests := func() []string {
		d, stop := livetest.StartLive(t, b, nil)
		defer func() { stop(); <-d.Done() }()
		var got []string
		for _, ds := range d.Registry().Destinations() {
			got = append(got, ds.Scope+"/"+ds.Name)
		}
		return got
	}
	for _, r := range []*kgo.Record{ // one batch each: the broker compacts whole batches
		rec("destination:*/secops", `{"op":"upsert","destination":{"scope":"*","name":"secops","type":"webhook","url":"https://hooks.example.com/h","secret":{"env":"SECOPS_KEY"}}}`),
		rec("destination:*/secops", `{"op":"delete","scope":"destination:*","id":"secops"}`), // a rule delete on the destination's key
		rec("*/z", `{"op":"upsert","rule":{"id":"z","scope":"*","version":1,"threshold":1,"when":{"path":"$.z"}}}`),
	} {
		b.Produce(t, r)
	}
	if got := dests(); len(got) != 1 {
		t.Fatalf("before compaction: destinations %v, want [*/secops]", got)
	}
	awaitRecords(t, b, "controls", 4, 10*time.Second) // the destination's keeper; the check below fails without it
	b.Produce(t, rec("*/z", `{"op":"upsert","rule":{"id":"z","scope":"*","version":2,"threshold":1,"when":{"path":"$.z"}}}`))
	b.Cluster.Compact()
	if got := dests(); len(got) != 1 {
		t.Errorf("after compaction: destinations %v, want [*/secops] (the fold before compaction)", got)
	}
}

// awaitRecords waits, at most timeout, until topic holds n records; the caller checks
// what they made.
func awaitRecords(t *testing.T, b *kafkatest.Broker, topic string, n int64, timeout time.Duration) {
	t.Helper()
	poll.Within(timeout, func() bool { return b.TopicRecords(t, topic) >= n })
}

// TestRestartAfterCompactionOfARepeatedUpsert: the same upsert published twice (a
// rules file applied again) folds as the active version itself, which keeps the
// identity (control offset) of the first record. Once compaction kept only the second,
// a restart's fold named the version by that record's offset: the snapshot's counts no
// longer matched it and were dropped, and the count said 0, live. The repeated upsert
// is now followed by the version's Keeper, which carries the first record's Origin.
func TestRestartAfterCompactionOfARepeatedUpsert(t *testing.T) {
	t.Parallel()
	b := compactedControls(t)
	state := "file://" + t.TempDir()
	cfg := func(c *live.Config) {
		c.Group, c.StateURL = "repeated-upsert", state
		c.SnapshotInterval = 100 * time.Millisecond
	}
	r := livetest.ParseRule(t, `{"id":"dl","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":100}`)
	d, stop := livetest.StartLive(t, b, cfg)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	b.Produce(t, livetest.Upsert(t, r))               // the same control again: unchanged
	awaitRecords(t, b, "controls", 3, 10*time.Second) // its Keeper; the check below fails without it
	// Another rule, so that neither is in the log's last batch (which compaction never
	// cleans).
	other := livetest.ParseRule(t, `{"id":"other","scope":"*","when":{"path":"$.nope"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, other))
	waitRule(t, d, other.Key(), 1)
	var history []*kgo.Record
	for range 7 {
		history = append(history, livetest.Event("c-1", `{"type":"file.downloaded"}`))
	}
	b.Produce(t, history...)
	waitSeen(t, d, 7)
	stop() // the shutdown snapshot holds the 7
	if err := d.Wait(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	b.Cluster.Compact()

	d2, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].NextOffset == 7
	})
	want := livetest.FullReplay(history, r)["c-1"]
	if v, _ := d2.Count(r.Key(), "c-1"); v.Count != want {
		t.Errorf("count after a clean restart = %d (status %s), a full replay says %d", v.Count, v.Status, want)
	}
}

// TestKeeperOfAnInvalidDeleteIsWrittenOnce: a delete of a key no control may name now
// (an id with a space; deletes were not checked as upserts before) is invalid. Its
// key's keeper was a delete of the same scope and id, invalid in turn, which got a
// keeper of its own, and so on: thousands of records a second. No keeper is written
// for a key whose own delete would be invalid, and an invalid keeper is never kept.
func TestKeeperOfAnInvalidDeleteIsWrittenOnce(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte("acme/old rule"),
		Value: []byte(`{"op":"delete","scope":"acme","id":"old rule"}`)})
	d, stop := livetest.StartLive(t, b, nil)
	defer func() { stop(); <-d.Done() }()
	// A rule applied after it: once it is folded, any keeper of the first is written.
	r := livetest.ParseRule(t, `{"id":"after","scope":"*","when":{"path":"$.x"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	awaitRecords(t, b, "controls", 3, time.Second) // a loop would pass 3 within it
	if n := b.TopicRecords(t, "controls"); n != 2 {
		t.Fatalf("the controls topic holds %d records, want the 2 produced", n)
	}
}

// TestRestartWritesNoSecondKeeperOfAnEmptyKey: an invalid upsert under a key that holds
// nothing gets one Keeper. A restart replays the topic: the Keeper, folded, takes the
// invalid record off the list of those to keep, as every applied record does. Folded
// without a status, it once skipped that too, and each start wrote the Keeper again.
func TestRestartWritesNoSecondKeeperOfAnEmptyKey(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte("*/bad"), Value: []byte("not json")})
	for run := 1; run <= 3; run++ {
		d, stop := livetest.StartLive(t, b, nil)
		poll.Until(t, 10*time.Second, "rules loaded", func() bool { return len(d.RuleList().Invalid) == 1 })
		stop()
		<-d.Done() // closing, it delivers what it wrote
		if n := b.TopicRecords(t, "controls"); n != 2 {
			t.Fatalf("after start %d the controls topic holds %d records; want 2 (the invalid upsert and one Keeper)", run, n)
		}
	}
}
