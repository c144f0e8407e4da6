package backfill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestWindowedHistoryMemoryLimitSaysWhatItRead: a windowed rule's hand-off reads its
// history through MatchingRows, in a DuckDB database under --backfill-memory-limit. A
// count job over its limit says what it was doing ("backfill: counting */pad over N
// files: job exceeded …", TestJobMemoryLimit); the windowed reader's error is DuckDB's
// alone behind the limit's words: no "backfill:", no rule, no lake file, no offsets,
// where every other error of MatchingRows.Read names the file (readError's
// ErrUnreadableFile, fetchError). The rule's last_error then tells an operator a limit
// was hit, not in which read. The limits are a control (none) and two small ones.
func TestWindowedHistoryMemoryLimitSaysWhatItRead(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cols := lakehouse.NewColumnSet(1)
	if err := cols.Set([]string{"$.kind"}); err != nil {
		t.Fatal(err)
	}
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt, Columns: cols,
			RollAge: 200 * time.Millisecond, CompactInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 4000 {
		pad := make([]byte, 1024)
		for j := range pad {
			pad[j] = "0123456789abcdef"[rng.IntN(16)]
		}
		at := base.Add(time.Duration(i) * time.Second)
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", i%5)), Timestamp: at,
			Value: fmt.Appendf(nil, `{"kind":"fail","user":"u%d","pad":%q,"ts":%q}`, i%7, pad, at.Format(time.RFC3339))})
	}
	out := b.Produce(t, recs...)
	last := out[len(out)-1].Offset
	poll.Until(t, 60*time.Second, "archived", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) >= last
	})
	cancel()
	<-done
	r, err := rule.ParseRule([]byte(`{"id":"w","scope":"*","version":1,"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":100000,"when":{"path":"$.kind","op":"==","value":"fail"}}`))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	for _, mem := range []int64{0, 2 << 20, 512 << 10} {
		cfg := backtest.Config{Lake: lake}
		if mem > 0 {
			cache := t.TempDir()
			cfg.Matching = func(r *rule.Rule) (backtest.MatchingRows, error) {
				m, err := NewMatchingRows(r, lake, cache, mem)
				if m == nil {
					return nil, err
				}
				return m, err
			}
		}
		h, err := backtest.PartitionState(context.Background(), cfg, r, 0, last+1, func(int64, time.Time, window.Crossing) {})
		if mem == 0 {
			if err != nil || h.Matches != int64(len(recs)) {
				t.Fatalf("without a limit: %v, %d matches; want %d", err, h.Matches, len(recs))
			}
			continue
		}
		if !errors.Is(err, ErrMemoryLimit) {
			t.Fatalf("limit %d: %v; want ErrMemoryLimit", mem, err)
		}
		named := strings.HasPrefix(err.Error(), "backfill:") && strings.Contains(err.Error(), r.Key().String())
		for _, f := range files {
			named = named || strings.Contains(err.Error(), f.Path)
		}
		if !named {
			t.Errorf("limit %d: the error names neither the rule (%s) nor a lake file of %d: %q", mem, r.Key(), len(files), err)
		}
	}
}
