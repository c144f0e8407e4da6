package lakehouse

import (
	"context"
	"testing"
	"time"
)

// TestCoverFollowsItsWatermark: a cover (refused records read after a partition's last
// file, none open) is recorded only where it follows the watermark it was read after
// and reaches past what the manifest accounts for; a partition new to the lake gets a
// state whose history starts after it; the next file, starting at the watermark's next
// offset, takes it over.
func TestCoverFollowsItsWatermark(t *testing.T) {
	t.Parallel()
	hour := time.Unix(1700000000, 0).UTC().Truncate(time.Hour)
	for _, tc := range []struct {
		name   string
		before *PartitionState // partition 0 in the manifest before; nil: absent
		cover  cover
		file   *FileEntry // committed with the cover
		want   PartitionState
	}{
		{"after the watermark", &PartitionState{Watermark: 19}, cover{19, 21}, nil,
			PartitionState{Watermark: 19, Earliest: 20, EmptyAfter: 2}},
		{"another writer archived past it", &PartitionState{Watermark: 30}, cover{19, 21}, nil,
			PartitionState{Watermark: 30, Earliest: 31}},
		{"the manifest accounts for more", &PartitionState{Watermark: 19, EmptyAfter: 5}, cover{19, 21}, nil,
			PartitionState{Watermark: 19, Earliest: 20, EmptyAfter: 5}},
		{"a partition new to the lake", nil, cover{49, 50}, nil,
			PartitionState{Watermark: 49, Earliest: 50, EmptyAfter: 1}},
		{"a file after a recorded cover", &PartitionState{Watermark: 19, EmptyAfter: 2}, cover{}, &FileEntry{StartOffset: 20, EndOffset: 26, Rows: 5},
			PartitionState{Watermark: 26, Earliest: 20, EarliestTime: hour}},
		{"a file and the cover after it", &PartitionState{Watermark: 19}, cover{26, 28}, &FileEntry{StartOffset: 20, EndOffset: 26, Rows: 5},
			PartitionState{Watermark: 26, Earliest: 20, EarliestTime: hour, EmptyAfter: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := offlineArchiver(t)
			ctx := context.Background()
			if tc.before != nil {
				if _, err := a.store.commit(ctx, func(m *Manifest) error {
					s := *tc.before
					m.setPartition(s)
					m.refreshEarliest()
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			var batches []*batch
			if tc.file != nil {
				e := *tc.file
				e.MinTime, e.MaxTime = hour, hour
				e.Path = dataName(0, hour, e.StartOffset, e.EndOffset)
				batches = append(batches, &batch{partition: 0, start: e.StartOffset, encoded: &pendingFile{entry: e, uploaded: time.Now()}})
			}
			covers := map[int32]cover{}
			if tc.cover != (cover{}) {
				covers[0] = tc.cover
			}
			m, _, _, err := a.commitBatches(ctx, batches, covers)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Partition(0); got != tc.want {
				t.Errorf("partition 0: %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRunWithoutEventsReadAgainStaysRead: the manifest says offsets 5–8 held no event
// (watermark 4, EmptyAfter 4), and the consumer resumes behind that, at 5 (its
// snapshot), handing 5–6 over again; then the log's start moves to 9. Offsets 7–8 were
// read (the manifest says so): no record was deleted unarchived, and the next file
// lacks nothing. Handing 5–6 over again lowered what the archiver took for read to 6,
// and 7–8 were charged to the next file as deleted.
func TestRunWithoutEventsReadAgainStaysRead(t *testing.T) {
	t.Parallel()
	a := offlineArchiver(t)
	t.Cleanup(a.releaseAll)
	st := &partState{next: -1, refusedTo: -1, covered: -1}
	st.resume(PartitionState{Partition: 0, Watermark: 4, EmptyAfter: 4})
	a.parts[0] = st
	a.mu.Lock()
	a.appendLocked(fetchOf(5, 6, -1, `{"type":`), nil, time.Now()) // dead letters, again
	a.appendLocked(fetchOf(9, 10, 9, `{"n":1}`), nil, time.Now())
	a.mu.Unlock()
	if st.cur == nil {
		t.Fatal("no file open after an event")
	}
	if st.cur.start != 5 || len(st.cur.deleted) != 0 {
		t.Errorf("the next file starts at %d and lacks %v; want 5 and nothing", st.cur.start, st.cur.deleted)
	}
}
