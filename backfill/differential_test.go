package backfill_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// checkRulesTestAgrees runs `rules test`'s evaluation (rulecheck.Stream) over the
// records as KEY<US>JSON lines, and compares its counts with the oracle over the same
// records: those a line can carry (no line break, no separator in key or value).
func checkRulesTestAgrees(t *testing.T, rules []*rule.Rule, recs []*kgo.Record) {
	t.Helper()
	const sep = "\x1f"
	var lines []string
	doc := jsonpath.NewDocument()
	want := map[rule.Key]map[string]int64{}
	for _, rec := range recs {
		k, v := string(rec.Key), string(rec.Value)
		if strings.ContainsAny(k+v, "\n"+sep) {
			continue
		}
		lines = append(lines, k+sep+v)
		if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" {
			continue
		}
		for _, r := range rules {
			if r.Matches(doc) {
				if want[r.Key()] == nil {
					want[r.Key()] = map[string]int64{}
				}
				want[r.Key()][k]++
			}
		}
	}
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, KeySeparator: sep,
		Events: strings.NewReader(strings.Join(lines, "\n"))}, func(*rulecheck.Line) {})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != len(lines) {
		t.Errorf("rules test read %d events of %d lines", sum.Events, len(lines))
	}
	for _, r := range rules {
		if got := sum.Counts[r.Key()]; !maps.Equal(got, want[r.Key()]) && len(got)+len(want[r.Key()]) > 0 {
			t.Errorf("rule %s: rules test counts %v, oracle %v", r.ID, got, want[r.Key()])
		}
	}
	t.Logf("rules test: %d of %d records as lines, %d skipped", len(lines), len(recs), sum.Invalid)
}

// TestLiveAndBackfillAgree is the differential test of the one verdict: odd payloads
// (duplicate names, huge numbers, -0, 1e400, escapes in names and values, lone
// surrogates, BOM, NUL, NaN, trailing commas and garbage, nesting past the limit,
// invalid and overlong UTF-8), mixed with plain events and with keys that are not
// UTF-8, go through a live daemon that archives them; the verdict rules, active from
// the start, count them live. Then
//
//   - a backfill.Runner counts the same rules over the daemon's lake (and the Kafka
//     tail it lacks), and
//   - the same rules published again under new ids after the events make the daemon
//     count them by its own hand-off (backfill below their start offsets),
//
// and every (rule, customer) count of the three must be equal, and equal to the oracle
// (verdict.Accept + rule.Matches over the produced records); and so must `rules test`'s
// over the same records as KEY|JSON lines (checkRulesTestAgrees).
func TestLiveAndBackfillAgree(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: a live daemon, the lake and three backfills; runs in make test")
	}
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	lakeURL := "file://" + t.TempDir()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = lakeURL, false, false
		c.ArchiveRollAge = 50 * time.Millisecond
		c.BackfillCacheDir = t.TempDir()
		c.BackfillMinBackoff = 50 * time.Millisecond
	})
	rules := backfill.VerdictRules(t)
	for _, r := range rules {
		b.Produce(t, livetest.Upsert(t, r))
	}
	poll.Until(t, 30*time.Second, "verdict rules active", func() bool { return len(d.Rules()) == len(rules) })

	rng := rand.New(rand.NewPCG(14, 2))
	customers := []string{"c-1", "c-2", "c-ü", "c-3"}
	badKeys := []string{"c-\xff", "\xc0\xaf", "\xed\xa0\x80"}
	var recs []*kgo.Record
	base := time.Now().Add(-time.Hour)
	for i, p := range backfill.OddPayloads(rng, 3000) {
		key := []byte(customers[rng.IntN(len(customers))])
		switch rng.IntN(40) {
		case 0:
			key = []byte(badKeys[rng.IntN(len(badKeys))])
		case 1:
			key = nil
		}
		recs = append(recs, &kgo.Record{Topic: "events", Key: key, Value: []byte(p), Timestamp: base.Add(time.Duration(i) * time.Millisecond)})
	}
	b.Produce(t, recs...)
	// Plain events last, so that each partition's lake watermark passes the refused
	// records at its end (they get no row; the next file covers their offsets).
	var tail []*kgo.Record
	for i := range 20 {
		tail = append(tail, &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-last-%d", i)), Value: []byte(`{"a":"admin"}`), Timestamp: time.Now()})
	}
	recs = append(recs, b.Produce(t, tail...)...)

	// The oracle: the live stage's own verdict on each record.
	doc := jsonpath.NewDocument()
	want := map[string]map[string]int64{} // rule id → customer → count
	accepted, refused := 0, 0
	for _, r := range rules {
		want[r.ID] = map[string]int64{}
	}
	lastAccepted := map[int32]int64{}
	for _, rec := range recs {
		if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" {
			refused++
			continue
		}
		accepted++
		lastAccepted[rec.Partition] = max(lastAccepted[rec.Partition], rec.Offset)
		for _, r := range rules {
			if r.Matches(doc) {
				want[r.ID][string(rec.Key)]++
			}
		}
	}
	poll.Until(t, 60*time.Second, "every event evaluated or dead-lettered", func() bool {
		return b.GroupCommitted(t, "live-"+t.Name(), "events") >= int64(len(recs))
	})
	if d.DeadLetters() != int64(refused) {
		t.Errorf("live dead-lettered %d records; the verdict refuses %d", d.DeadLetters(), refused)
	}
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	ends := map[int32]int64{}
	for _, r := range recs {
		ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
	}
	poll.Until(t, 60*time.Second, "lake caught up", func() bool {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			return false
		}
		for p, e := range lastAccepted {
			if snap.Watermark(p) < e {
				return false
			}
		}
		return true
	})

	runner, err := backfill.NewRunner(backfill.Config{Lake: lake, CacheDir: t.TempDir(), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	allCustomers := slices.Clone(customers)
	for i := range 20 {
		allCustomers = append(allCustomers, fmt.Sprintf("c-last-%d", i))
	}
	var total int64
	for i, r := range rules {
		res, err := runner.Run(ctx, backfill.Job{Rule: r, Start: ends})
		if err != nil {
			t.Errorf("backfill of %s: %v", backfill.VerdictConditions[i], err)
			continue
		}
		if res.Incomplete() {
			t.Errorf("backfill of %s is incomplete: %v", backfill.VerdictConditions[i], res.Missing)
		}
		liveCounts := map[string]int64{}
		for _, c := range allCustomers {
			v, ok := d.Count(r.Key(), c)
			if !ok {
				t.Fatalf("rule %s not active", r.Key())
			}
			if v.Count > 0 {
				liveCounts[c] = v.Count
			}
		}
		if !maps.Equal(liveCounts, want[r.ID]) {
			t.Errorf("rule %s: live counts %v, oracle %v", backfill.VerdictConditions[i], liveCounts, want[r.ID])
		}
		if !maps.Equal(res.Counts, want[r.ID]) {
			t.Errorf("rule %s: backfill counts %v, oracle (and live) %v", backfill.VerdictConditions[i], res.Counts, want[r.ID])
		}
		for _, n := range want[r.ID] {
			total += n
		}
	}

	// The daemon's own hand-off: the same conditions under new ids, after the events.
	late := make([]*rule.Rule, len(rules))
	for i, r := range rules {
		c := *r
		c.ID = "late-" + r.ID
		late[i] = &c
		b.Produce(t, livetest.Upsert(t, &c))
	}
	poll.Until(t, 120*time.Second, "hand-off backfills done", func() bool {
		n := 0
		for _, v := range d.Rules() {
			if v.Status != contract.RuleLive {
				return false
			}
			n++
		}
		return n == 2*len(rules)
	})
	for i, r := range late {
		got := map[string]int64{}
		for _, c := range allCustomers {
			if v, _ := d.Count(r.Key(), c); v.Count > 0 {
				got[c] = v.Count
			}
		}
		if !maps.Equal(got, want[rules[i].ID]) {
			t.Errorf("rule %s counted by the daemon's hand-off: %v, oracle %v", backfill.VerdictConditions[i], got, want[rules[i].ID])
		}
	}
	if total < 500 || refused < 100 {
		t.Fatalf("the oracle counts %d matches and %d refused records: the test shows too little", total, refused)
	}
	checkRulesTestAgrees(t, rules, recs)
	t.Logf("%d records (%d refused), %d rules, %d matches", len(recs), refused, len(rules), total)
}
