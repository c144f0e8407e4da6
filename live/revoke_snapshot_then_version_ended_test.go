package live_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestVersionEndedAfterRevokeSnapshotResolvesOnce: member A owns both partitions of a
// windowed rule with resolve whose incidents are open on each. Member B joins; A's
// revoke snapshot of the partition it gives up is encoded (the incidents open) and its
// write held in the store, while version 2 replaces the rule. A reconciled the
// partition it was giving up as well (still in its table until the revoke ends: after
// the encoding, or after the whole revoke, its partitions being collected first) and
// sent the version's resolves; B restored the snapshot, which holds the incidents
// open, and sent them again: no snapshot was held back, yet each came twice
// (TestChurnWindowedHistoryAlertsOnce/replaced=true/3, four resolves of one partition).
// A closing partition now adopts no rule change: the next owner, restoring its
// snapshot, resolves them once.
func TestVersionEndedAfterRevokeSnapshotResolvesOnce(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	s3 := s3test.Start(t, "state")
	var held atomic.Bool
	blocked := make(chan int32, 8)
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { held.Store(false); close(release) }) }
	defer let() // before the members' cleanups, which wait for their stop
	part := regexp.MustCompile(`/p=(\d{4})/[^/]*\.snap$`)
	proxy := s3.StartFaultyProxy(t, func(_ http.ResponseWriter, r *http.Request) bool {
		m := part.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodPut || m == nil || !held.Load() {
			return false
		}
		pid, _ := strconv.Atoi(m[1])
		select {
		case blocked <- int32(pid):
		default:
		}
		select { // relayed once let go
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	conf := func(c *live.Config) {
		c.Group, c.StateURL = "revokethenended", proxy.URL()
		// Only the initial and the revoke snapshots: the one held is the revoke's.
		c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour
		c.ShutdownTimeout = 30 * time.Second
	}
	const v1 = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, v1)))
	a, stopA := livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "A owning both partitions, their initial snapshots stored", func() bool {
		st := a.State()
		return len(st.Partitions) == 2 && st.Partitions[0].LastSnapshot != nil && st.Partitions[1].LastSnapshot != nil
	})
	const users = 8
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range users {
		u := fmt.Sprintf("u%d", i)
		for s := range 2 {
			b.Produce(t, livetest.Event("c-"+u, fmt.Sprintf(`{"type":"login.failed","user":%q,"ts":%q}`, u, at.Add(time.Duration(10*i+s)*time.Second).Format(time.RFC3339Nano))))
		}
	}
	fired := alertsOn(t, b, users)
	firing := map[int32]int{}
	for _, al := range fired {
		if al.Status != contract.StatusFiring {
			t.Fatalf("alert %+v, want firing", al)
		}
		firing[al.Partition]++
	}
	if firing[0] == 0 || firing[1] == 0 {
		t.Fatalf("firings by partition %v: the test needs open incidents on both", firing)
	}

	held.Store(true)
	bm, stopB := livetest.StartLive(t, b, conf)
	var gone int32
	select {
	case gone = <-blocked:
	case <-time.After(wait):
		t.Fatal("A's revoke snapshot was not written")
	}
	kept := 1 - gone
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"bursts","scope":"*","version":2,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":3,"alert":{"resolve":true,"suppress":"1h"}}`)))
	// A resolves the incidents of the partition it keeps once it has published version
	// 2, after reconciling every partition in its table.
	poll.Until(t, wait, "the kept partition's resolves", func() bool {
		return b.TopicRecords(t, "alerts") >= int64(users+firing[kept])
	})
	let()
	poll.Until(t, wait, "B owning the partition A gave up, restored", func() bool {
		st := bm.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Partition == gone && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 0
	})
	// Stopped, each member has flushed what it produced: every resolve sent is read.
	for _, stop := range []func(){stopA, stopB} {
		stop()
	}
	for _, d := range []*live.Daemon{a, bm} {
		select {
		case <-d.Done():
		case <-time.After(wait):
			t.Fatal("a member did not stop")
		}
	}
	resolved := map[string]int{}
	byPartition := map[int32]int{}
	n := b.TopicRecords(t, "alerts")
	for _, al := range livetest.Alerts(t, b.Consume(t, "alerts", int(n), wait)) {
		if al.Status == contract.StatusResolved {
			resolved[al.AlertID]++
			byPartition[al.Partition]++
		}
	}
	for _, al := range fired {
		if k := resolved[al.AlertID]; k != 1 {
			t.Errorf("incident %s of partition %d (A kept %d): resolved %d times, want once", al.AlertID, al.Partition, kept, k)
		}
	}
	t.Logf("resolves by partition %v, firings %v, partition %d moved to B", byPartition, firing, gone)
}
