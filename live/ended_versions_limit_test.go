package live_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestManyEditsWhileDownResolveOnRestore: as TestTwoEditsWhileDownResolveOnRestore, but
// the rule is edited 17 times while the daemon is down, one more than the fold
// remembers ended versions of a rule by default (max_ended_versions, 16). Version 1
// ended all the same: under a limit that holds 17 its firing alert is resolved when the
// partition is restored; under the default, version 1 is forgotten, and that is counted
// (hindsight_limit_reached_total{name="max_ended_versions"}) rather than silent, as the
// fixed bound of 16 was. Not parallel: it sets the process's rule limits.
func TestManyEditsWhileDownResolveOnRestore(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	const js = `{"id":"bursts","scope":"*","version":%d,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	for _, tc := range []struct {
		name    string
		limit   int
		resolve bool
	}{
		{"a limit that holds them", 17, true},
		{"the default", rule.DefaultLimits.MaxEndedVersions, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := rule.DefaultLimits
			l.MaxEndedVersions = tc.limit
			if err := rule.SetLimits(l); err != nil {
				t.Fatal(err)
			}
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			state := t.TempDir()
			reg := prometheus.NewRegistry()
			conf := func(c *live.Config) { c.Group, c.StateURL = "ended17", "file://"+state }
			d, stop := livetest.StartLive(t, b, conf)
			v1 := fmt.Sprintf(js, 1)
			b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, v1)))
			waitActive(t, d, []string{v1})
			b.Produce(t, loginFailed("a", 1), loginFailed("a", 2), loginFailed("z", 3)) // version 1 fires for a
			fired := alertsOn(t, b, 1)
			waitSeen(t, d, 3)
			stop()
			<-d.Done() // its last snapshot holds a's incident open

			for v := 2; v <= 18; v++ { // 17 edits while down
				b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, fmt.Sprintf(js, v))))
			}
			d, stop = livetest.StartLive(t, b, func(c *live.Config) { conf(c); c.Registry = reg })
			poll.Until(t, wait, "the partition restored", func() bool {
				st := d.State()
				return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
			})
			reached := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEndedVersions)
			stop()
			<-d.Done()
			if !tc.resolve {
				if reached < 1 {
					t.Errorf("version 1 forgotten past max_ended_versions %d, and counted %v times; want it counted", tc.limit, reached)
				}
				return
			}
			if n := b.TopicRecords(t, "alerts"); n != 2 {
				t.Fatalf("%d alert records, want version 1's firing and its resolve", n)
			}
			if a := alertsOn(t, b, 2)[1]; a.Status != contract.StatusResolved || a.AlertID != fired[0].AlertID {
				t.Errorf("second record %+v: want the resolve of %s", a, fired[0].AlertID)
			}
			if reached > 0 {
				t.Errorf("max_ended_versions %d counted as reached %v times for 17 ended versions", tc.limit, reached)
			}
		})
	}
}
