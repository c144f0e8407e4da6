package live

import (
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestSnapshotKeepsIncompleteHistory: a rule version whose backfill could not read part
// of its history says so in /v1/rules; a restart restored its counts from the snapshot
// but forgot the mark, and the lower bound passed for a complete count.
func TestSnapshotKeepsIncompleteHistory(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 6)
	orig := f.partition(2, 900, 40, 3, 5)
	marks := map[int][]contract.MissingRange{
		0: {{Partition: 2, From: 10, To: 99, Reason: "lake file data/x.parquet is missing; Kafka's log starts at 400"}},
		4: {{Partition: 2, From: 0, To: 4, Reason: "a"}, {Partition: 2, From: 7, To: 7, Reason: ""}},
	}
	for i, m := range marks {
		orig.incomplete[f.rules[i]] = m
	}
	data := sealState(nil, must(orig.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))))
	got, err := f.d.partitionFromSnapshot(2, data, map[int32]logBound{2: {start: 0, end: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	for i, ar := range f.rules {
		if want := marks[i]; !reflect.DeepEqual(got.incomplete[ar], want) {
			t.Errorf("rule %s: incomplete history after restore %+v, want %+v", ar.Key, got.incomplete[ar], want)
		}
	}
	if !reflect.DeepEqual(countsOf(got, f.rules...), countsOf(orig, f.rules...)) {
		t.Error("the counters changed in the round trip")
	}
}

// TestSnapshotVersion1StillRestores: snapshots written before incomplete-history marks
// existed (encoding version 1) restore unchanged.
func TestSnapshotVersion1StillRestores(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 5)
	orig := f.partition(1, 300, 30, 2, 9)
	data := sealState(nil, must(orig.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))))
	// A version 2 body without incomplete marks is a version 1 body: reframe it.
	binary.LittleEndian.PutUint16(data[4:], stateVersionV1)
	n := len(data) - stateTrailerLen
	binary.LittleEndian.PutUint32(data[n:], crc32.Checksum(data[:n], crcTable))
	got, err := f.d.partitionFromSnapshot(1, data, map[int32]logBound{1: {start: 0, end: 1000}})
	if err != nil {
		t.Fatalf("version 1 snapshot: %v", err)
	}
	if !reflect.DeepEqual(countsOf(got, f.rules...), countsOf(orig, f.rules...)) || len(got.incomplete) != 0 {
		t.Errorf("version 1 snapshot restored other counts or marks (%d marks)", len(got.incomplete))
	}
}
