package live_test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRestoreFrom: a daemon whose state store is empty restores the partitions from
// --restore-from (here, the store of an earlier deployment), and then keeps its own
// snapshots in its own store. Backfill is off, so the counts can only come from there.
func TestRestoreFrom(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	for i := range 40 {
		history = append(history, livetest.Event([]string{"a", "b", "c"}[i%3], `{"type":"login"}`))
	}
	b.Produce(t, history...)
	old, fresh := t.TempDir(), t.TempDir()
	group := "restore-from"
	first, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL = group, "file://"+old
	})
	poll.Until(t, 20*time.Second, "the first deployment to count every event", func() bool { return first.EventsSeen() == 40 })
	stop() // the shutdown snapshots every partition
	<-first.Done()

	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.RestoreFrom = group, "file://"+fresh, "file://"+old
		c.SnapshotInterval = 100 * time.Millisecond
	})
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := second.State()
		n := 0
		for _, p := range st.Partitions {
			if p.Restored != nil && strings.HasPrefix(p.Restored.Key, "state/") {
				n++
			}
		}
		return n == 1
	})
	for _, c := range []string{"a", "b", "c"} {
		want := livetest.FullReplay(history, r)[c]
		if v, _ := second.Count(r.Key(), c); v.Count != want {
			t.Errorf("customer %s: %d after restoring from the old store, want %d", c, v.Count, want)
		}
	}
	// New events move the state on; its snapshots go to the new store.
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	poll.Until(t, 20*time.Second, "a snapshot in the new store", func() bool {
		m, _ := filepath.Glob(filepath.Join(fresh, "state", "*", "*", "*", "*.snap"))
		return len(m) > 0
	})
}

// TestUnreadableSnapshotIsReported: a partition whose snapshots cannot be read (here, an
// encoding version from the future) is recounted from history by backfill; the daemon
// keeps running and /v1/state says why.
func TestUnreadableSnapshotIsReported(t *testing.T) {
	t.Parallel()
	b, r, state := unreadableSnapshots(t, "unreadable")
	second, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL = "unreadable", "file://"+state
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 200 * time.Millisecond
	})
	poll.Until(t, 30*time.Second, "the count rebuilt by backfill", func() bool {
		v, _ := second.Count(r.Key(), "a")
		return v.Count == 12 && v.Status == contract.RuleLive
	})
	st := second.State()
	if len(st.Partitions) != 1 || !strings.Contains(st.Partitions[0].LastError, "encoding version 9; this build reads versions 1 to 8") {
		t.Fatalf("/v1/state does not say why the snapshot was not restored: %+v", st.Partitions)
	}
}

// unreadableSnapshots counts 12 logins of customer a under rule logins in group, stops,
// and makes every snapshot the daemon stored unreadable (an encoding version from the
// future), returning the broker, the rule and the state directory.
func unreadableSnapshots(t *testing.T, group string) (*kafkatest.Broker, *rule.Rule, string) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	for range 12 {
		history = append(history, livetest.Event("a", `{"type":"login"}`))
	}
	b.Produce(t, history...)
	state := t.TempDir()
	first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "every event counted", func() bool { return first.EventsSeen() == 12 })
	stop()
	<-first.Done()
	snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot at shutdown")
	}
	// Bump the encoding version (bytes 4-5) and reseal the CRC-32C trailer, as a build
	// of that version would write it: the checksum is checked before the version, so a
	// file left with the old one is damage, not a snapshot from the future.
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, f := range snaps {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data[4] = 9
		n := len(data) - 4
		binary.LittleEndian.PutUint32(data[n:], crc32.Checksum(data[:n], castagnoli))
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b, r, state
}

// failListOffsets makes the broker answer the next n ListOffsets requests naming
// topic with an error for every partition they name.
func failListOffsets(b *kafkatest.Broker, topic string, n int32) *atomic.Int32 {
	var failed atomic.Int32
	b.Cluster.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.ListOffsetsRequest)
		if failed.Load() >= n {
			b.Cluster.DropControl()
			return nil, nil, false
		}
		b.Cluster.KeepControl()
		if len(r.Topics) == 0 || r.Topics[0].Topic != topic {
			return nil, nil, false
		}
		failed.Add(1)
		return listOffsetsRefused(r), nil, true
	})
	return &failed
}

// listOffsetsRefused answers r with an error for every partition it names.
func listOffsetsRefused(r *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = kerr.UnknownServerError.Code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// TestTransientOffsetListingFailureKeepsState: a restart whose first listing of the
// events partitions' offsets fails restored no snapshot (without the log's bounds it
// cannot be checked); without backfill nothing recounted, the counts said live, and the
// state stored next, at the resume offset, outranked the good snapshot for good. The
// listing is now tried again, and the snapshot restored.
func TestTransientOffsetListingFailureKeepsState(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := "file://" + t.TempDir()
	cfg := func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = "bounds-unknown", state, true
		c.SnapshotInterval = 100 * time.Millisecond
	}
	var history []*kgo.Record
	produce := func(n int) {
		var recs []*kgo.Record
		for range n {
			recs = append(recs, livetest.Event("a", `{"type":"login"}`))
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	produce(10)
	d1, stop1 := livetest.StartLive(t, b, cfg)
	waitSeen(t, d1, 10)
	stop1() // the shutdown snapshot holds the 10; the group committed 10
	<-d1.Done()

	produce(5)
	failed := failListOffsets(b, "events", 2) // the restore's first ListStartOffsets and ListEndOffsets
	d2, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "the events counted", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].NextOffset == 15
	})
	if failed.Load() != 2 {
		t.Fatalf("%d ListOffsets requests failed, want 2: the test shows nothing", failed.Load())
	}
	want := livetest.FullReplay(history, r)["a"]
	if v, _ := d2.Count(r.Key(), "a"); v.Count != want {
		t.Errorf("after a restart whose first offset listing failed: count %d with status %s; a full replay says %d", v.Count, v.Status, want)
	}
}

// TestSnapshotsOfAnotherLogDoNotEvictTheCurrentOnes: the state store holds snapshots of
// an earlier log of the events topic (the topic recreated, or the deployment moved to a
// new cluster) at offsets above the new log's end. They are refused at restore, but
// ranked by offset they had prune delete each snapshot of the new log as it was stored,
// and once the new log grew past them a restart restored the old log's counts.
// Snapshots are now ranked by when they were written.
func TestSnapshotsOfAnotherLogDoNotEvictTheCurrentOnes(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	cfg := func(c *live.Config) {
		c.Group, c.StateURL = "another-log", "file://"+stateDir
		c.SnapshotInterval = 100 * time.Millisecond
	}
	snaps := func() []string {
		m, _ := filepath.Glob(filepath.Join(stateDir, "state", "*", "*", "*", "*.snap"))
		return m
	}

	// The old log: 30 logins of customer "old", snapshotted at three offsets.
	old := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	old.Produce(t, livetest.Upsert(t, r))
	d1, stop1 := livetest.StartLive(t, old, cfg)
	for i := 1; i <= 3; i++ {
		var recs []*kgo.Record
		for range 10 {
			recs = append(recs, livetest.Event("old", `{"type":"login"}`))
		}
		old.Produce(t, recs...)
		poll.Until(t, 20*time.Second, "a snapshot of the old log", func() bool {
			st := d1.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == int64(10*i)
		})
	}
	stop1()
	<-d1.Done()
	old.Close()

	// The new log: the same rule (same control offset and text), 5 logins of "a".
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	produce := func(n int) {
		var recs []*kgo.Record
		for range n {
			recs = append(recs, livetest.Event("a", `{"type":"login"}`))
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	produce(5)
	d2, stop2 := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "a snapshot of the new log at its end", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == 5
	})
	key := d2.State().Partitions[0].LastSnapshot.Key
	if _, err := os.Stat(filepath.Join(stateDir, filepath.FromSlash(key))); err != nil {
		t.Errorf("the snapshot the daemon just stored of the new log is gone: %v (left: %v)", err, snaps())
	}
	stop2()
	<-d2.Done()

	// The new log grows past the old log's offsets while the daemon is down.
	produce(30)
	d3, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "the new log counted to its end", func() bool {
		st := d3.State()
		return len(st.Partitions) == 1 && st.Partitions[0].NextOffset == 35
	})
	want := livetest.FullReplay(history, r)
	for _, c := range []string{"a", "old"} {
		if v, _ := d3.Count(r.Key(), c); v.Count != want[c] {
			t.Errorf("customer %q: count %d after the restart, a full replay of the new log says %d (restored from %+v)",
				c, v.Count, want[c], d3.State().Partitions[0].Restored)
		}
	}
}
