package live

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"slices"
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
	data := sealState(nil, must(orig.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))), stateVersion)
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

// bodyOfVersion4 is body, of this build's encoding, without what versions 5 and 6
// added (the controls offset, the topic id), as a build of version 4 wrote it.
func bodyOfVersion4(t *testing.T, body []byte) []byte {
	t.Helper()
	r := &stateReader{b: body}
	r.str("topic")
	r.str("group")
	r.varint("partition")
	r.varint("next")
	r.varint("write time")
	at := len(body) - len(r.b)
	r.varint("controls")
	if r.err != nil || len(r.b) < 16 {
		t.Fatalf("body: %v", r.err)
	}
	return append(slices.Clip(body[:at]), r.b[16:]...)
}

// TestSnapshotVersion1StillRestores: snapshots written before incomplete-history marks
// existed (encoding version 1) restore unchanged.
func TestSnapshotVersion1StillRestores(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 5)
	orig := f.partition(1, 300, 30, 2, 9)
	data := sealState(nil, bodyOfVersion4(t, must(orig.encodeState("events", "hindsight-live", time.Unix(1700000000, 0)))), stateVersion)
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

// TestSnapshotRecordsItsControls: a snapshot records the offset of the last control
// folded into the rule set its partition had adopted, for the restore to tell which
// ended versions it may not name (endedreplay.go); one of version 4 does not say.
func TestSnapshotRecordsItsControls(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 3)
	header := func(data []byte) *stateHeader {
		t.Helper()
		body, version, err := openState(data, DefaultMaxSnapshotBytes)
		if err != nil {
			t.Fatal(err)
		}
		h, err := decodeState(body, version, func(*stateHeader) (func([]byte, []stateCount), error) {
			return func([]byte, []stateCount) {}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	p := f.partition(1, 300, 5, 2, 3)
	s, err := newActiveSet(f.rules)
	if err != nil {
		t.Fatal(err)
	}
	s.controls.Store(4242)
	p.active = s
	body := must(p.encodeState("events", "hindsight-live", time.Unix(1700000000, 0)))
	if h := header(sealState(nil, body, stateVersion)); h.Controls != 4242 || !h.ControlsKnown || h.Next != 300 {
		t.Errorf("controls %d (known %v), next %d; want 4242 and 300", h.Controls, h.ControlsKnown, h.Next)
	}
	old := sealState(nil, bodyOfVersion4(t, body), stateVersion)
	binary.LittleEndian.PutUint16(old[4:], stateVersionV4)
	n := len(old) - stateTrailerLen
	binary.LittleEndian.PutUint32(old[n:], crc32.Checksum(old[:n], crcTable))
	if h := header(old); h.ControlsKnown || h.Next != 300 || len(h.Rules) != len(f.rules) {
		t.Errorf("version 4: controls known %v, next %d, %d rules; want unknown, 300 and %d", h.ControlsKnown, h.Next, len(h.Rules), len(f.rules))
	}
	// A partition that adopted no set yet records the daemon's current set's: the
	// first it adopts is that one or a later one.
	p.active = nil
	enc := p.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, s)
	body, _ = enc.finish()
	p.counts.thaw()
	if h := header(sealState(nil, body, stateVersion)); h.Controls != 4242 || !h.ControlsKnown {
		t.Errorf("no set adopted: controls %d (known %v), want the current set's 4242", h.Controls, h.ControlsKnown)
	}
	if h := header(sealState(nil, must(p.encodeState("events", "hindsight-live", time.Unix(1700000000, 0))), stateVersion)); h.Controls != -1 || !h.ControlsKnown {
		t.Errorf("no set at all: controls %d (known %v), want -1, known: every ended version may have run", h.Controls, h.ControlsKnown)
	}

	// Version 6 records the topic's id; a version 5 body (the same without it) reads
	// as one whose id is unknown.
	p.topicID = [16]byte{7, 7, 7}
	body = must(p.encodeState("events", "hindsight-live", time.Unix(1700000000, 0)))
	if h := header(sealState(nil, body, stateVersion)); h.TopicID != p.topicID {
		t.Errorf("topic id %x, want %x", h.TopicID, p.topicID)
	}
	r := &stateReader{b: body}
	r.str("topic")
	r.str("group")
	r.varint("partition")
	r.varint("next")
	r.varint("write time")
	r.varint("controls")
	v5 := append(slices.Clip(body[:len(body)-len(r.b)]), r.b[16:]...)
	old5 := sealState(nil, v5, stateVersion)
	binary.LittleEndian.PutUint16(old5[4:], stateVersionV5)
	n = len(old5) - stateTrailerLen
	binary.LittleEndian.PutUint32(old5[n:], crc32.Checksum(old5[:n], crcTable))
	if h := header(old5); h.TopicID != ([16]byte{}) || !h.ControlsKnown || h.Next != 300 || len(h.Rules) != len(f.rules) {
		t.Errorf("version 5: topic id %x, controls known %v, next %d, %d rules; want unknown, known, 300 and %d", h.TopicID, h.ControlsKnown, h.Next, len(h.Rules), len(f.rules))
	}
}

// TestSnapshotKeepsRefusedMatches: the matches a full counter store refused
// (--max-counters) make their rule degraded after a restore too. A state that refused
// none is written as version 6, which builds before version 7 restore; one that did,
// as version 7 (no hand-off pending that is not a recount), which they refuse (ErrStateVersion) rather than misread; and a version
// 6 frame around such a body is corrupt.
func TestSnapshotKeepsRefusedMatches(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 5)
	orig := f.partition(2, 900, 40, 3, 5)
	encode := func() ([]byte, uint16) {
		enc := orig.beginState("events", "hindsight-live", time.Unix(1700000000, 0), &stateBuffers{}, nil)
		body, _ := enc.finish()
		orig.counts.thaw()
		return body, enc.version
	}
	if _, v := encode(); v != stateVersionV6 {
		t.Errorf("a state that refused nothing is encoded as version %d, want %d", v, stateVersionV6)
	}
	refused := map[int]int64{1: 12, 3: 1}
	for i, n := range refused {
		orig.refused[f.rules[i]] = n
	}
	body, v := encode()
	if v != stateVersionV7 {
		t.Fatalf("a state that refused matches is encoded as version %d, want %d", v, stateVersionV7)
	}
	got, err := f.d.partitionFromSnapshot(2, sealState(nil, body, v), map[int32]logBound{2: {start: 0, end: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	for i, ar := range f.rules {
		if got.refused[ar] != refused[i] {
			t.Errorf("rule %s: %d refused matches after restore, want %d", ar.Key, got.refused[ar], refused[i])
		}
	}
	if !reflect.DeepEqual(countsOf(got, f.rules...), countsOf(orig, f.rules...)) {
		t.Error("the counters changed in the round trip")
	}
	if _, err := f.d.partitionFromSnapshot(2, sealState(nil, body, stateVersionV6), map[int32]logBound{2: {start: 0, end: 1000}}); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("version 6 frame around refused matches: %v, want ErrStateCorrupt", err)
	}
}
