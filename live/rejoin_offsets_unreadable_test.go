package live_test

import (
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRejoinWhoseOffsetsCannotBeReadStopsTheDaemon: a member whose group session
// expired unheard (its heartbeats answered as if it stood, kept from the group) learns
// of it from its offset commit, and franz-go (v1.22.3) rejoins as a new member without
// calling lost; the group gives its partitions back, and ingest loses them and must
// place them afresh, but the group's commits cannot be read (OffsetFetch refused).
// Going on from where the member had read, its state of the partitions dropped, left
// the events between its last snapshot and that position counted nowhere, and its
// snapshots after carried the undercount to the next owner. The daemon must stop
// instead (ingest.ErrKeptUnplaced), so that the group assigns the partitions afresh,
// and a fresh member then counts exactly a replay of every event.
func TestRejoinWhoseOffsetsCannotBeReadStopsTheDaemon(t *testing.T) {
	// Parallel: its own broker, lake, group and kfake control, no process-wide state;
	// most of its 3-4 s waits out sessions, which held up -short's serial phase, where
	// nothing else runs.
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2, MinSessionTimeout: 500 * time.Millisecond})
	r := livetest.ParseRule(t, `{"id":"viewed","scope":"*","when":{"path":"$.type","op":"==","value":"file.viewed"},"threshold":1000000}`)
	b.Produce(t, livetest.Upsert(t, r))
	group := livetest.Group(t)
	lake := "file://" + t.TempDir()
	cfg := func(c *live.Config) {
		c.Group, c.LakeURL = group, lake
		c.SessionTimeout = time.Second
		c.ShutdownTimeout = 3 * time.Second
		c.SnapshotInterval = 200 * time.Millisecond
		c.NoNotify = true
	}
	a, _ := livetest.StartLiveStoppingWith(t, b, cfg, ingest.ErrKeptUnplaced)
	gen := workload.New(5, workload.Config{Customers: 20, Step: time.Second})
	history := livetest.ProduceEvents(t, b, gen, 300)
	waitCommitted(t, b, a, "before the session expires")

	b.ExpireSoleMember(t, group, wait)
	var refusing atomic.Bool
	refusing.Store(true)
	b.Cluster.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster.KeepControl()
		r := req.(*kmsg.OffsetFetchRequest)
		ours := r.Group == group
		for _, g := range r.Groups {
			ours = ours || g.Group == group
		}
		if !ours || !refusing.Load() {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		if r.Version >= 8 {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode = group, kerr.GroupAuthorizationFailed.Code
			resp.Groups = []kmsg.OffsetFetchResponseGroup{g}
		}
		return resp, nil, true
	})
	// Handled, their offsets' commit meets the expiry: franz-go rejoins.
	history = append(history, livetest.ProduceEvents(t, b, gen, 300)...)
	select {
	case <-a.Done():
	case <-time.After(wait):
		t.Fatalf("the daemon did not stop within %v, the group's commits of the partitions it kept across a rejoin unreadable", wait)
	}
	refusing.Store(false)

	fresh, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, wait, "the fresh member to own every partition", func() bool { return len(fresh.Partitions()) == 2 })
	waitCommitted(t, b, fresh, "by the fresh member")
	got, _ := fresh.Counts(r.Key())
	have := map[string]int64{}
	for _, c := range got {
		have[c.Customer] = c.Count
	}
	if want := livetest.FullReplay(history, r); !maps.Equal(have, want) {
		t.Errorf("rule %s: the fresh member counts %v, a replay of every event %v", r.Key(), have, want)
	}
}
