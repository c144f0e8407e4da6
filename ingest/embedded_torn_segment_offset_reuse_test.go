package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedTornSegmentTailReusesOffsets: a torn last batch in an events segment (the
// .dat file cut a few bytes short while the broker was stopped) is dropped at the next
// start and logged as lost. But its offsets were acknowledged, and the archiver, the
// lake and live's snapshots may hold them: the next events produced must not be given
// those offsets again. The broker knew where the log ended (the partition's
// snapshot.json, written at its clean shutdown, says 6), yet it sets the log's end back
// to the last whole batch and hands offsets 3..5 out a second time, to other events.
func TestEmbeddedTornSegmentTailReusesOffsets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: dir}
	cfg.EnsureDefaults()
	produce := func(addr string, values ...string) []*kgo.Record {
		t.Helper()
		kc := KafkaConfig{Brokers: []string{addr}}
		kc.EnsureDefaults()
		cl, err := kc.NewClient(kgo.RecordDeliveryTimeout(15 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var recs []*kgo.Record
		for _, v := range values {
			recs = append(recs, &kgo.Record{Topic: cfg.Topics.Events, Key: []byte("c-1"), Value: []byte(v)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		return recs
	}

	e, err := StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	produce(e.Addr, `{"n":"a1"}`, `{"n":"a2"}`, `{"n":"a3"}`)
	b := produce(e.Addr, `{"n":"b1"}`, `{"n":"b2"}`, `{"n":"b3"}`)
	e.Close()
	if b[0].Offset != 3 {
		t.Fatalf("the second batch starts at %d, want 3", b[0].Offset)
	}

	seg := filepath.Join(dir, "partitions", cfg.Topics.Events+"-0", "0.dat")
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-3); err != nil {
		t.Fatal(err)
	}

	e, err = StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("corrupt data dropped at start: %d", e.StorageErrors(StorageCorrupt))
	c := produce(e.Addr, `{"n":"c1"}`)
	if c[0].Offset < 6 {
		t.Fatalf("after the torn batch %s..%s (offsets 3-5) was dropped, a new event %s got offset %d: an acknowledged offset given to another event",
			b[0].Value, b[2].Value, c[0].Value, c[0].Offset)
	}
}
