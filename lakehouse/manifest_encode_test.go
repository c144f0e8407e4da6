package lakehouse

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// A manifest json cannot encode (a time past year 9999) is the commit's own content:
// retried as a storage outage, it failed the same way for ever, the archive stopped and
// only a warning per attempt said why. It fails at once, as a permanent error.
func TestManifestEncodeFailureIsPermanent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := newManifestStore(NewMemBucket(), slog.New(slog.DiscardHandler), "events")
	retried := 0
	bo := backoff{min: time.Millisecond, max: time.Millisecond, log: slog.New(slog.DiscardHandler), onError: func(string) { retried++ }}
	err := bo.do(ctx, "commit manifest", func(ctx context.Context) error {
		_, err := s.commit(ctx, func(m *Manifest) error {
			m.Partitions = append(m.Partitions, PartitionState{Partition: 0, Watermark: -1, DroppedTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
			return nil
		})
		return err
	})
	if !errors.Is(err, errEncodeManifest) || retried != 0 || ctx.Err() != nil {
		t.Errorf("a commit of a manifest json cannot encode: %v, retried %d times; want errEncodeManifest at once", err, retried)
	}
}
