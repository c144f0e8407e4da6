package lakehouse

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Junk named above maxManifestVersion is foreign: commits go on at the next version
// after the real ones. Junk at the bound itself leaves no version to commit: the commit
// fails at once, naming the object, rather than claiming a version readers ignore.
func TestManifestVersionBound(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bkt := NewMemBucket()
	s := newManifestStore(bkt, slog.New(slog.DiscardHandler), "events")
	addPartition := func(m *Manifest) error {
		m.setPartition(PartitionState{Partition: int32(len(m.Partitions)), Watermark: -1})
		return nil
	}
	if err := bkt.Put(ctx, "manifest/v9000000000000000001.json", bytes.NewReader([]byte("junk"))); err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 2; want++ {
		m, err := s.commit(ctx, addPartition)
		if err != nil || m.Version != want {
			t.Fatalf("commit beside junk above the bound: version %v, err %v; want version %d", m, err, want)
		}
	}
	if err := bkt.Put(ctx, manifestKey(maxManifestVersion), bytes.NewReader([]byte("junk"))); err != nil {
		t.Fatal(err)
	}
	retried := 0
	bo := backoff{min: time.Millisecond, max: time.Millisecond, log: slog.New(slog.DiscardHandler), onError: func(string) { retried++ }}
	err := bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		_, err := s.commit(ctx, addPartition)
		return err
	})
	if !errors.Is(err, ErrManifestVersionsExhausted) || !strings.Contains(err.Error(), "manifest/v9000000000000000000.json") || retried != 0 {
		t.Errorf("commit beside junk at the bound: %v, retried %d times; want ErrManifestVersionsExhausted naming it, at once", err, retried)
	}
	m, _, err := s.latest(ctx)
	if err != nil || m.Version != 2 {
		t.Errorf("read beside junk at the bound: %v, %v; want version 2", m, err)
	}
}
