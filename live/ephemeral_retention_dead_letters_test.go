package live_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
)

// TestEphemeralRetentionBoundsDeadLetters: `hindsight live --ephemeral
// --embedded-retention-bytes N` promises a broker whose memory is bounded ("bounds its
// memory with --ephemeral"). A stream of malformed events is trimmed on the events
// topic, but every one of them is copied whole to the dead-letter topic, which the
// embedded broker keeps for ever: its in-memory log grows with every bad event, past
// any bound, and nothing in /metrics says so.
func TestEphemeralRetentionBoundsDeadLetters(t *testing.T) {
	t.Parallel()
	const (
		retention = 64 << 10
		segment   = 16 << 10
		events    = 600 // 1 KiB each: about 600 KiB, ten times the bound
	)
	var topics ingest.Topics
	topics.EnsureDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := live.Start(ctx, live.Config{
		Embedded: ingest.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, SegmentBytes: segment, RetentionBytes: retention},
		HTTPAddr: "127.0.0.1:0", Group: "ephemeral-dlq", CommitInterval: 100 * time.Millisecond,
		Logger: testlog.New(t), LakeURL: "file://" + t.TempDir(), NoArchive: true, NoBackfill: true,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.Done():
		case <-time.After(30 * time.Second):
			t.Errorf("daemon did not stop")
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(d.Brokers()...), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	bad := `{"pad":"` + strings.Repeat("x", 1000) // not JSON: no closing quote or brace
	for i := 0; i < events; i += 10 {
		var batch []*kgo.Record
		for j := i; j < i+10; j++ {
			batch = append(batch, &kgo.Record{Topic: topics.Events, Key: []byte(fmt.Sprintf("c-%d", j)), Value: []byte(bad)})
		}
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, 60*time.Second, "every malformed event dead-lettered", func() bool { return d.DeadLetters() >= events })
	adm := kadm.NewClient(cl)
	kept := func(topic string) int64 {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = starts.Error()
		}
		ends, err2 := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = err2
		}
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		s, _ := starts.Lookup(topic, 0)
		e, _ := ends.Lookup(topic, 0)
		return e.Offset - s.Offset
	}
	// The bound is applied every second: wait for the events topic to be trimmed.
	poll.Until(t, 30*time.Second, "the events topic trimmed to its retention", func() bool {
		return kept(topics.Events)*1000 <= retention+2*segment
	})
	for _, topic := range []string{topics.Events, topics.DeadLetters} {
		n := kept(topic)
		t.Logf("%s keeps %d records of about 1 KiB (retention %d bytes)", topic, n, retention)
		if n*1000 > retention+2*segment {
			t.Errorf("the embedded broker keeps %d records (about %d KiB) of %s in memory, over --embedded-retention-bytes %d: the dead-letter copy of every malformed event is kept for ever", n, n, topic, retention)
		}
	}
}
