package live_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffFiringPrecedesLiveResolve: an incident opened by an event buffered
// during a hand-off is sent by the hand-off's job (the daemon's history client); it
// closes live right after, its resolve sent by the events consumer's client. The
// history client's produce is retried once (a transient broker error): the resolve
// must still follow its firing on the alerts topic, as for an ended version's resolves
// (TestEndedResolveFollowsItsFiring). (A review helper's test; the job's alerts go
// through the consumer's client now, under the partition's lock.)
func TestHandoffFiringPrecedesLiveResolve(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a retried produce (5 s): make test and its race pass run it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill = false })
	js := `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true}}`
	b.Produce(t, loginFailed("z", 1))
	waitCommitted(t, b, d, "history")
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 5), loginFailed("a", 6)) // buffered: a fires at offset 2
	waitCommitted(t, b, d, "the buffered events")

	var armed atomic.Bool
	armed.Store(true)
	var heldPID int64
	var until time.Time
	b.FailProduces(t, "alerts", kerr.NotLeaderForPartition, func(pr *kmsg.ProduceRequest) bool {
		var pid int64 = -2
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				if len(p.Records) >= 51 {
					pid = int64(binary.BigEndian.Uint64(p.Records[43:51]))
				}
			}
		}
		switch {
		case armed.CompareAndSwap(true, false):
			// the first produce of an alert after the release: the hand-off's
			heldPID, until = pid, time.Now().Add(1500*time.Millisecond)
			t.Logf("refusing produces of producer id %d for 1.5 s", pid)
			return true
		case pid == heldPID && time.Now().Before(until):
			return true
		}
		return false
	})
	release()
	poll.Until(t, 30*time.Second, "the rule live", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})
	b.Produce(t, loginFailed("b", 30)) // closes a's incident: resolved live
	var got []string
	for _, a := range alertsOn(t, b, 2) {
		got = append(got, fmt.Sprintf("%s %s@%d %s", a.Status, a.Group["$.user"], a.Offset, a.Source))
	}
	if want := []string{`firing "a"@2 live`, `resolved "a"@3 live`}; !slices.Equal(got, want) {
		t.Errorf("alerts topic holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
