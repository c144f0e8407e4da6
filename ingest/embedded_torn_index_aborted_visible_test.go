package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedTornIndexTailShowsAbortedEvents: a segment's .idx file cut a few bytes
// short while the broker was stopped (a torn last write) is not truncated to whole
// entries at the next start, so every index entry written after it lands off its
// place. At the start after a kill -9, the broker replays the log and reads a batch's
// "in a transaction" flag from its index entry: the misplaced entries read as no flag,
// so a transaction aborted in between is not recorded as aborted, and its events,
// counted nowhere before, are served to read_committed consumers (live, the archiver)
// as committed.
func TestEmbeddedTornIndexTailShowsAbortedEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cut  int64 // bytes cut off the index
	}{
		{"intact index", 0},
		{"index cut 3 bytes short", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a broker and data directory of its own
			tornIndexAborted(t, tt.cut)
		})
	}
}

func tornIndexAborted(t *testing.T, cut int64) {
	dir := t.TempDir()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: dir}
	cfg.EnsureDefaults()
	cfg.Logger = nil // the child's own default: a logger does not pass through JSON
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec := func(v string) *kgo.Record {
		return &kgo.Record{Topic: cfg.Topics.Events, Key: []byte("c-1"), Value: []byte(v)}
	}
	produce := func(addr string, opts ...kgo.Opt) *kgo.Client {
		t.Helper()
		kc := KafkaConfig{Brokers: []string{addr}}
		kc.EnsureDefaults()
		// Without client metrics: franz-go's Close gives a dead broker a second for
		// the metrics' final push, and three of these clients outlive their broker.
		cl, err := kc.NewClient(append(opts, kgo.DisableClientMetrics())...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}

	b := startBrokerChild(t, cfg)
	if err := produce(b.addr).ProduceSync(ctx, rec("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b.kill(t)

	idx := filepath.Join(dir, "partitions", cfg.Topics.Events+"-0", "0.idx")
	fi, err := os.Stat(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(idx, fi.Size()-cut); err != nil {
		t.Fatal(err)
	}

	b = startBrokerChild(t, cfg)
	tx := produce(b.addr, kgo.TransactionalID("tx-1"))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctx, rec("aborted")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if err := produce(b.addr).ProduceSync(ctx, rec("b")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b.kill(t)

	b = startBrokerChild(t, cfg)
	cl := produce(b.addr, kgo.ConsumeTopics(cfg.Topics.Events), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	var got []string
	for !slices.Contains(got, "b") && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("a read_committed consumer reads %q after the restart; want [a b] (the transaction holding \"aborted\" was aborted)", got)
	}
}
