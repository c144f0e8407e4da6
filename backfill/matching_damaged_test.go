package backfill_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestMatchingRowsCachedCopyDamagedInside: doc.go says "A lake file DuckDB cannot read,
// fetched afresh once to rule out the local cache's copy, fails the job with
// ErrUnreadableFile". MatchingRows.Read — the reader of windowed rules' backfills and
// ended versions' replays — did not (a review's test): a cached copy damaged inside
// (trailer intact, so Fetch's check passes it) over an intact lake was reported as an
// unreadable lake object (live's retryCannotCure: blocked), and every retry reused the
// same damaged copy. It reads a fresh copy once now, as Runner.countFiles does.
func TestMatchingRowsCachedCopyDamagedInside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	at := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	var in []*kgo.Record
	for i, a := range []string{"admin", "user", "admin"} {
		in = append(in, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"a":"` + a + `"}`), Timestamp: at.Add(time.Duration(i) * time.Second)})
	}
	recs := b.Produce(t, in...)
	lake, _ := livetest.Archive(t, b, recs, "$.a")
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) != 1 {
		t.Fatalf("lake has %d files, want 1", len(files))
	}
	f := files[0]
	r := livetest.ParseRule(t, `{"id":"admins","scope":"*","version":1,"when":{"path":"$.a","op":"==","value":"admin"},"window":{"size":"10m"},"threshold":1000}`)
	cache := t.TempDir()
	read := func() (int, error) {
		m, err := backfill.NewMatchingRows(r, lake, cache, 0)
		if err != nil || m == nil {
			t.Fatalf("NewMatchingRows: %v, %v", m, err)
		}
		defer m.Close()
		n := 0
		err = m.Read(ctx, f, f.EndOffset+1, func(int64, string, time.Time, string, func(*jsonpath.Path) jsonpath.Value) error {
			n++
			return nil
		})
		return n, err
	}
	if n, err := read(); err != nil || n != 2 {
		t.Fatalf("first read: %d rows, %v; want 2", n, err)
	}
	local := filepath.Join(cache, filepath.FromSlash(f.Path))
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	// The pages, between the leading PAR1 and the footer, overwritten: the trailer
	// Fetch checks stays whole.
	bad := bytes.Clone(data)
	footer := int(binary.LittleEndian.Uint32(bad[len(bad)-8:]))
	for i := 4; i < len(bad)-8-footer; i++ {
		bad[i] = 0xff
	}
	// Put in place of the copy, not written through it: a file lake's copy is a link to
	// the lake's own file, which writing through it would damage too.
	if err := os.WriteFile(local+".bad", bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(local+".bad", local); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		n, err := read()
		if err != nil || n != 2 {
			t.Fatalf("attempt %d over an intact lake with a cached copy damaged inside: %d rows, %v; want 2 (the copy fetched afresh, as doc.go says)", attempt, n, err)
		}
	}
}
