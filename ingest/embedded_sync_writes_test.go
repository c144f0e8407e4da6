package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedSyncWritesKeepsEvents: --embedded-sync-writes (EmbeddedConfig.SyncWrites)
// starts the broker with kfake's per-batch fsync, and what it acknowledged is read
// back after a restart on the same data directory.
func TestEmbeddedSyncWritesKeepsEvents(t *testing.T) {
	t.Parallel()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: t.TempDir(), SyncWrites: true}
	cfg.EnsureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(addr string, opts ...kgo.Opt) *kgo.Client {
		kc := KafkaConfig{Brokers: []string{addr}}
		kc.EnsureDefaults()
		cl, err := kc.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}

	e, err := StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl := client(e.Addr)
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topics.Events, Value: []byte(`{"n":1}`)}).FirstErr()
	cl.Close()
	e.Close()
	if err != nil {
		t.Fatal(err)
	}

	e, err = StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cl = client(e.Addr, kgo.ConsumeTopics(cfg.Topics.Events), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var got []string
	for len(got) == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) != 1 || got[0] != `{"n":1}` {
		t.Fatalf("after a restart with sync writes the events topic holds %q; want [{\"n\":1}]", got)
	}
}
