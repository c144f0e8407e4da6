package live

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestStateStoresOfTwoGroupsDoNotShareNames: the state bucket holds the snapshots of
// every group; a group whose name has characters outside [A-Za-z0-9._-] is written
// "x-<hex>", which was also the literal name of another group kept as it was. Two
// daemons of those groups sharing a bucket must not list, prune or restore each
// other's snapshots: here group "a b" stores its snapshots, and group "x-612062" must
// still restore its own (found by a review helper).
func TestStateStoresOfTwoGroupsDoNotShareNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	f := newStateFixture(t, 3)
	mine := newStateStore(bkt, "mem://", "x-612062", "events")
	other := newStateStore(bkt, "mem://", "a b", "events")

	put := func(s *stateStore, group string, next int64, at time.Time) {
		t.Helper()
		data := sealState(nil, must(f.partition(0, next, 5, 2, uint64(next)).encodeState("events", group, at)), stateVersion)
		if err := s.bkt.Put(ctx, s.key(0, next, at), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if err := s.prune(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	put(mine, "x-612062", 100, now)
	for i := range 3 {
		put(other, "a b", int64(200+i), now.Add(time.Duration(i+1)*time.Second))
	}

	names, err := mine.list(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.d.cfg.Group, f.d.cfg.Topics.Events = "x-612062", "events"
	restored := false
	for _, n := range names {
		data, err := mine.get(ctx, n, f.d.cfg.MaxSnapshotBytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.partitionFromSnapshot(0, data, nil); err == nil {
			restored = true
			break
		} else {
			t.Logf("%s: %v", n, err)
		}
	}
	if mine.prefix == other.prefix {
		t.Errorf("groups %q and %q share the state prefix %q", "x-612062", "a b", mine.prefix)
	}
	if !restored {
		t.Errorf("group x-612062 has no snapshot of its own left to restore: its store lists %v", names)
	}
}
