package kafkatest_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// GroupCommitted is polled from a daemon's start, before its group exists: it reads 0
// then (kfake answers GROUP_ID_NOT_FOUND, which failed a test once in CI), and the
// group's commits once made.
func TestGroupCommitted(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	if n := b.GroupCommitted(t, "never-joined", "events"); n != 0 {
		t.Fatalf("a group that never joined committed %d", n)
	}
	var offsets kadm.Offsets
	offsets.Add(kadm.Offset{Topic: "events", Partition: 0, At: 3, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "events", Partition: 1, At: 4, LeaderEpoch: -1})
	resp, err := kadm.NewClient(b.Client(t)).CommitOffsets(context.Background(), "g", offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing for group g: %v", err)
	}
	if n := b.GroupCommitted(t, "g", "events"); n != 7 {
		t.Fatalf("group g committed %d, want 3+4", n)
	}
}
