package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestNotifyFoldLimitsReachedInMetrics: hindsight notify folds the controls topic
// itself under its own --max-ended-mutes and --max-rejected-controls, and shows them in
// hindsight_limit; their help says that past them mutes and controls are "forgotten
// … and counted" / "dropped and counted", and hindsight live counts each in
// hindsight_limit_reached_total{name}. The notify process drives its fold past both and
// its /metrics must say so.
func TestNotifyFoldLimitsReachedInMetrics(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	start := time.Now().Add(-12 * time.Hour).Truncate(time.Second)
	var recs []*kgo.Record
	// Five mutes each in force for a second, two hours apart: every one ended more than
	// an hour before the next control, so past --max-ended-mutes 1 three are forgotten.
	for i := range 5 {
		at := start.Add(time.Duration(i) * 2 * time.Hour)
		id := fmt.Sprintf("deploy-%d", i)
		v := fmt.Sprintf(`{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*","until":%q,"reason":"deploy %d"}}`, id, at.Add(time.Second).Format(time.RFC3339), i)
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte("mute:*/" + id), Value: []byte(v), Timestamp: at})
	}
	// Three rejected controls past --max-rejected-controls 1: two dropped. The last is
	// the sentinel whose warning says the fold got this far.
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("rule:*/bad-%d", i)), Value: []byte(`{"op":"upsert","rule":{"id":"nope"}}`), Timestamp: start.Add(9 * time.Hour)})
	}
	b.Produce(t, recs...)

	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--max-ended-mutes", "1", "--max-rejected-controls", "1")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)
	waitLine(t, lines, regexp.MustCompile(`(control not applied by this notify stage).*bad-2`), &logged)
	cases := []struct{ name, shown string }{
		{"max_ended_mutes", `hindsight_limit{name="max_ended_mutes"} 1`},
		{"max_rejected_controls", `hindsight_limit{name="max_rejected_controls"} 1`},
	}
	reached := func(metrics, name string) bool {
		re := regexp.MustCompile(`(?m)^hindsight_limit_reached_total\{name="` + name + `"\} ([1-9][0-9]*)$`)
		return re.FindStringSubmatch(metrics) != nil
	}
	// The fold logs each control it refuses as it applies the fetch's records and counts
	// its drops after the last: the warning about bad-2 comes just before the counts.
	var metrics string
	poll.Within(10*time.Second, func() bool {
		metrics = livetest.GetText(t, "http://"+addr+"/metrics")
		return reached(metrics, cases[0].name) && reached(metrics, cases[1].name)
	})
	for _, tc := range cases {
		if !strings.Contains(metrics, tc.shown) {
			t.Errorf("/metrics lacks %s", tc.shown)
		}
		if !reached(metrics, tc.name) {
			t.Errorf("notify's fold went past --%s but its /metrics has no hindsight_limit_reached_total{name=%q} above 0 (the flag's help says past it they are counted; hindsight live counts them):\n%s",
				strings.ReplaceAll(tc.name, "_", "-"), tc.name, grepLines(metrics, tc.name))
		}
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
