package bench

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
)

// A probe's alert delivered twice is one probe answered, not two: when one probe's
// alert is lost and another's arrives twice, the measurement must say one is missing
// and the gated "alerts delivered" ratio must fall below 1. The webhook path already
// treats a redelivery so ("a redelivery is not a second receipt"); the alerts topic
// path counts records.
// TestLatencyDuplicateAlertDoesNotMaskALostOne: one probe's alert is lost and
// another's delivered twice (a producer's retry). Each record counted as a receipt,
// the run reported none missing and every alert delivered, the gated ratio 1, and
// stopped waiting for the lost one (found by a review helper).
func TestLatencyDuplicateAlertDoesNotMaskALostOne(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the lost alert's 3 s drain: make test runs it")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	broker, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg := LatencyConfig{Kafka: ingest.KafkaConfig{Brokers: []string{broker.Addr}}, Rate: 200, Duration: time.Second,
		Drain: 3 * time.Second, ProbeEvery: 1}
	cfg.Workload.EnsureDefaults()
	cfg.Kafka.EnsureDefaults()

	// A relay like the pass-through baseline's, but one that loses the alert of probe
	// lostSeq and delivers the alert of probe dupSeq twice.
	const prefix, lostSeq, dupSeq = "Dtest-", 10, 20
	at, err := endOffsets(ctx, cfg.Kafka, "events")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cfg.Kafka.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": at}), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopRelay := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				if !bytes.HasPrefix(r.Key, []byte(prefix)) {
					return
				}
				seq, _ := strconv.Atoi(string(r.Key[len(prefix):]))
				copies := 1
				switch seq {
				case lostSeq:
					copies = 0
				case dupSeq:
					copies = 2
				}
				for range copies {
					cl.Produce(rctx, &kgo.Record{Topic: "alerts", Key: append([]byte(nil), r.Key...), Value: []byte(`{}`)}, nil)
				}
			})
		}
	})
	defer func() { stopRelay(); wg.Wait(); cl.Close() }()

	m, err := measure(ctx, cfg, "Dtest", "dup", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var f LatencyFigures
	if err := m.fill(&f); err != nil {
		t.Fatal(err)
	}
	t.Logf("probes %d, received %d, missing %d", f.Probes, f.Received, f.Missing)
	if f.Missing != 1 || f.Received != f.Probes-1 {
		t.Errorf("one probe's alert lost, another's delivered twice: received %d of %d probes, missing %d; want %d received, 1 missing",
			f.Received, f.Probes, f.Missing, f.Probes-1)
	}
	res := (&LatencyReport{LatencyFigures: f, Wall: time.Second}).Result()
	if r := res.Ratio("alerts delivered"); r == nil || r.Value >= 1 {
		t.Errorf("alerts delivered %+v with one probe's alert lost: want below 1", r)
	}
}
