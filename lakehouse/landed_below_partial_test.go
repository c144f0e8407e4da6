package lakehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// rivalDuringPut is a bucket on which, as the first write of manifest v2 goes out
// (a commit slow between reading v1 and writing v2), a rival has committed v2 and v3
// and a prune has taken v2's name: the write lands, below v3.
type rivalDuringPut struct {
	Bucket
	rival []byte // v3
	once  sync.Once
}

func (b *rivalDuringPut) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if name == manifestKey(2) {
		var err error
		b.once.Do(func() { err = b.Bucket.Put(ctx, manifestKey(3), bytes.NewReader(b.rival)) })
		if err != nil {
			return err
		}
	}
	return b.Bucket.PutIfAbsent(ctx, name, r)
}

// A commit that adds partition 0's file of offsets 100–199 over v1 (watermark 99)
// lands as v2 below a rival's v3, which never saw v2: it archived 100–149 as a file
// and counted 150–209 as holding no event (EmptyAfter; its live stage dead-lettered
// them, say). v3 accounts for every offset v2 does, but its watermark covers only the
// start of v2's file: the events of 150–199 that v2's file holds are in no file v3
// lists. Readers take v3, so v2 does not stand: it is taken back and made again on v3,
// where the file no longer follows the watermark. Counted as standing, the commit
// reported the file committed (an archiver then commits its Kafka offsets) while the
// lake readers see lacks those events.
func TestCommitBelowANewestCoveringOnlyTheStartOfItsFile(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	file := func(start, end int64, id int) FileEntry {
		return FileEntry{Path: fmt.Sprintf("data/p=0000/h=2026-03-01T09/%020d-%020d-%08x.parquet", start, end, id), Partition: 0,
			StartOffset: start, EndOffset: end, MinOffset: start, MaxOffset: end, Rows: end - start + 1,
			MinTime: at, MaxTime: at, Created: at}
	}
	manifest := func(v, emptyAfter int64, files ...FileEntry) *Manifest {
		m := &Manifest{Format: ManifestFormat, Version: v, Topic: "events", Committed: at, Writer: "test", Files: files,
			Partitions: []PartitionState{{Partition: 0, Watermark: files[len(files)-1].EndOffset, EmptyAfter: emptyAfter, EarliestTime: at}}}
		if err := m.validate(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	put := func(bkt Bucket, m *Manifest) []byte {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if bkt != nil {
			if err := bkt.Put(ctx, manifestKey(m.Version), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
		}
		return data
	}
	first, rivals, ours := file(0, 99, 1), file(100, 149, 2), file(100, 199, 3)
	inner := NewMemBucket()
	put(inner, manifest(1, 0, first))
	bkt := &rivalDuringPut{Bucket: inner, rival: put(nil, manifest(3, 60, first, rivals))}
	var logs strings.Builder
	s := newManifestStore(bkt, slog.New(slog.NewTextHandler(&logs, nil)), "events")

	// As the archiver's commit: the file goes in only right after the watermark.
	accepted := false
	m, err := s.commit(ctx, func(m *Manifest) error {
		accepted = false
		st, ok := m.Partition(0)
		if !ok || ours.StartOffset != st.Watermark+1 {
			return errNoChange
		}
		st.Watermark = ours.EndOffset
		m.setPartition(st)
		m.Files = append(m.Files, ours)
		accepted = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	newest, _, err := s.latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("commit returned v%d (accepted %v); newest v%d, watermark %d; log:\n%s", m.Version, accepted, newest.Version, newest.Watermark(0), logs.String())
	if accepted || m.Version != 3 {
		t.Errorf("the commit of %s (offsets 100–199) counts as standing (v%d, accepted %v), yet readers take v%d, which lists %d files, watermark %d: the events of 150–199 are in no file it lists",
			ours.Path, m.Version, accepted, newest.Version, len(newest.Files), newest.Watermark(0))
	}
	if ok, err := inner.Exists(ctx, manifestKey(2)); err != nil || ok {
		t.Errorf("manifest v2, written below v3 and never seen by it, is still in the bucket (exists %v, %v): it should have been taken back", ok, err)
	}
	if newest.Version != 3 || newest.hasFile(ours.Path) || newest.Watermark(0) != 149 {
		t.Errorf("newest manifest v%d, watermark %d, lists %s: %v; want the rival's v3 as it was", newest.Version, newest.Watermark(0), ours.Path, newest.hasFile(ours.Path))
	}
}
