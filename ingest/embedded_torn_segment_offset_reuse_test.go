package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
// to the last whole batch and would hand offsets 3..5 out a second time, to other
// events. We cannot make it keep them, so StartEmbedded refuses such a directory
// unless the loss is accepted (EmbeddedConfig.AcceptLostOffsets), which cuts the log
// and lets the offsets be given again.
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

	// The broker cannot keep those offsets (kfake sets the log's end to its last
	// whole batch): it must refuse to start rather than give them again, naming the
	// partition and the offsets, and change nothing.
	if e, err := StartEmbedded(cfg); !errors.Is(err, ErrEmbeddedOffsetsLost) {
		if err == nil {
			c := produce(e.Addr, `{"n":"c1"}`)
			e.Close()
			t.Fatalf("the broker started after the torn batch %s..%s (offsets 3-5) was dropped; a new event %s got offset %d", b[0].Value, b[2].Value, c[0].Value, c[0].Offset)
		}
		t.Fatalf("starting after the torn batch: %v; want ErrEmbeddedOffsetsLost", err)
	} else if msg := err.Error(); !strings.Contains(msg, cfg.Topics.Events+"-0 lost offsets 3 to 5") || !strings.Contains(msg, seg) {
		t.Fatalf("the refusal does not name the partition, the offsets lost and the file: %v", err)
	}
	if fi2, err := os.Stat(seg); err != nil || fi2.Size() != fi.Size()-3 {
		t.Fatalf("the refused start changed %s: %v, %v", seg, fi2, err)
	}

	// Accepting the loss knowingly cuts the log and gives the offsets again.
	accept := cfg
	accept.AcceptLostOffsets = true
	e, err = StartEmbedded(accept)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if n := e.StorageErrors(StorageCorrupt); n != 1 {
		t.Errorf("the accepted loss is counted %d times, want 1", n)
	}
	if c := produce(e.Addr, `{"n":"c1"}`); c[0].Offset != 3 {
		t.Fatalf("with the loss accepted a new event got offset %d, want 3 (the first lost one)", c[0].Offset)
	}
}

// TestEmbeddedTornSegmentTailAfterCrashRefused: after a kill -9 the partition's
// snapshot.json is the empty directory's; the segment's index still says how many
// batches were written, and the start is refused as well.
func TestEmbeddedTornSegmentTailAfterCrashRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: dir}
	cfg.EnsureDefaults()
	cfg.Logger = nil // the child's own default: a logger does not pass through JSON
	kc := KafkaConfig{}
	b := startBrokerChild(t, cfg)
	kc.Brokers = []string{b.addr}
	kc.EnsureDefaults()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, v := range []string{`{"n":"a"}`, `{"n":"b"}`} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topics.Events, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	b.kill(t)

	seg := filepath.Join(dir, "partitions", cfg.Topics.Events+"-0", "0.dat")
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	_, err = StartEmbedded(cfg)
	if !errors.Is(err, ErrEmbeddedOffsetsLost) || !strings.Contains(err.Error(), cfg.Topics.Events+"-0 lost offsets from 1 on (1 record batches)") {
		t.Fatalf("starting after a crash and a torn last batch: %v; want ErrEmbeddedOffsetsLost naming offsets from 1", err)
	}
}
